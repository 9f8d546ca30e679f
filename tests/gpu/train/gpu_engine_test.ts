import { ok as assert } from "node:assert/strict";
import { GpuGradientEngine } from "../../../src/gpu/train/gpu_engine.ts";
import { CpuGrpoTrainer } from "../../../src/train/cpu_trainer.ts";
import type { TrainGroup } from "../../../src/train/groups.ts";
import { cloneParams } from "../../../src/train/params.ts";
import { tinyParams } from "../../train/_tiny.ts";
import { gpuTest, withContext } from "../_gpu.ts";

function group(): TrainGroup[] {
  const rollouts = [0, 1, 2, 3].map((i) => ({
    tokens: [3, 4, 5 + i, 6 + i, 7, 8 + i],
    promptLength: 2,
    completionLength: 4,
    behaviourLogprobs: [-3.1, -3.2, -3.0, -3.3],
    advantage: i < 2 ? 1 : -1,
    reward: i < 2 ? 1 : 0,
    nonce: i,
  }));
  return [{ groupId: "0", rollouts }];
}

gpuTest(
  "CpuGrpoTrainer.trainWindow() with the WebGPU engine takes the reference's steps",
  async () => {
    const { config, params } = await tinyParams("qwen3");
    const hyper = { lr: 1e-3, batchSize: 2, gradAccumSteps: 1, entropyCoef: 0.01 };
    const cpu = new CpuGrpoTrainer(config, cloneParams(params), hyper);
    const cpuStats = await cpu.trainWindow(group());
    await withContext(async (ctx) => {
      const start = cloneParams(params);
      const engine = await GpuGradientEngine.create(ctx, config, start, cloneParams(params), 8);
      const gpu = new CpuGrpoTrainer(config, start, { ...hyper, engine });
      const gpuStats = await gpu.trainWindow(group());
      assert(gpuStats.steps === 2 && cpuStats.steps === 2);
      // Two AdamW steps of ~1e-3 each from f32 vs f64 gradients (measured: 2.7e-8 apart). A wrong
      // gradient sign or term moves a weight by ~1e-3; 1e-6 leaves room for an entry whose
      // gradient sits near f32 noise (Adam's normalised step could then differ a little).
      for (const [name, t] of cpu.params) {
        const g = gpu.params.get(name)!.data;
        for (let i = 0; i < g.length; i++) {
          assert(Math.abs(g[i] - t.data[i]) < 1e-6, `${name}[${i}]: ${g[i]} vs ${t.data[i]}`);
        }
      }
      assert(
        Math.abs(gpuStats.meanLoss - cpuStats.meanLoss) < 1e-4,
        `${gpuStats.meanLoss} vs ${cpuStats.meanLoss}`,
      );
    });
  },
);
