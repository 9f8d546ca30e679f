import { ok as assert } from "node:assert/strict";
import { GpuGrpoTrainer } from "../../../src/gpu/train/gpu_trainer.ts";
import type { Architecture } from "../../../src/model/config.ts";
import { AdamW, clipGradNorm } from "../../../src/train/adamw.ts";
import { policyForward } from "../../../src/train/cpu_backward.ts";
import { grpoGradients, type GrpoSample } from "../../../src/train/grpo_step.ts";
import { cloneParams } from "../../../src/train/params.ts";
import { lcg, tinyParams } from "../../train/_tiny.ts";
import { gpuTest, withContext } from "../_gpu.ts";

// f32 kernels against the float64 reference: gradients are sums of O(T·C) f32 products, so
// they agree to ~1e-5 of each tensor's largest entry; 1e-3 still catches any wrong term (a
// missing residual, a transposed GEMM or a sign is off by O(1) of the tensor's scale).
const REL_TOL = 1e-3;

async function setup(architecture: Architecture, extra = {}) {
  const { config, params } = await tinyParams(architecture, extra);
  const rand = lcg(3);
  const samples: GrpoSample[] = [];
  for (const [T, P, shift, A] of [[9, 3, 0.05, 1.1], [7, 2, -0.1, -0.9], [12, 5, 0.02, 0.4]]) {
    const tokens = Array.from({ length: T }, () => Math.floor(rand() * config.vocabSize));
    const lp = policyForward(config, params, { tokens, promptLength: P }).logprobs;
    samples.push({
      tokens,
      promptLength: P,
      behaviourLogprobs: lp.map((x) => x - shift),
      advantage: A,
    });
  }
  const refLogprobs = samples.map((s) =>
    Array.from(policyForward(config, params, s).logprobs, (x) => x + 0.1 * (rand() - 0.5))
  );
  return { config, params, samples, refLogprobs };
}

for (
  const [arch, extra] of [["qwen3", {}], ["qwen2", {}], ["llama", { attentionBias: true }]] as const
) {
  gpuTest(
    `GpuGrpoTrainer.gradients() matches the float64 reference on a tiny ${arch} (padded to T = 16)`,
    async () => {
      const { config, params, samples, refLogprobs } = await setup(arch, extra);
      const opts = { klCoef: 0.5, entropyCoef: 0.3 };
      const cpu = grpoGradients(config, params, null, samples, {
        ...opts,
        referenceLogprobs: refLogprobs,
      });
      await withContext(async (ctx) => {
        const gpu = await GpuGrpoTrainer.create(ctx, config, params, { maxLenTokens: 16 });
        const r = await gpu.gradients(samples, refLogprobs, opts);
        assert(
          Math.abs(r.loss - cpu.loss) < 1e-4 * Math.max(1, Math.abs(cpu.loss)),
          `loss ${r.loss} vs ${cpu.loss}`,
        );
        for (const [name, t] of cpu.grads) {
          const g = await gpu.readGrad(name);
          let scale = 0, err = 0;
          for (let i = 0; i < g.length; i++) {
            scale = Math.max(scale, Math.abs(t.data[i]));
            err = Math.max(err, Math.abs(g[i] - t.data[i]));
          }
          assert(err <= REL_TOL * scale + 1e-9, `${name}: max error ${err}, scale ${scale}`);
        }
      });
    },
  );
}

gpuTest(
  "GpuGrpoTrainer.optimizerStep() clips and applies AdamW as the reference does",
  async () => {
    const { config, params, samples } = await setup("qwen3");
    const cpuParams = cloneParams(params);
    const cpu = grpoGradients(config, cpuParams, null, samples, { entropyCoef: 0.001 });
    const norm = clipGradNorm(cpu.grads, 0.01); // a small bound so clipping is active
    new AdamW({ lr: 1e-3 }).step(cpuParams, cpu.grads);
    await withContext(async (ctx) => {
      const gpu = await GpuGrpoTrainer.create(ctx, config, params, {
        maxLenTokens: 16,
        lr: 1e-3,
        gradClip: 0.01,
      });
      await gpu.gradients(samples, null, { entropyCoef: 0.001 });
      const gpuNorm = await gpu.optimizerStep();
      assert(Math.abs(gpuNorm - norm) < 1e-3 * norm, `norm ${gpuNorm} vs ${norm}`);
      for (const [name, t] of cpuParams) {
        const w = await gpu.readParam(name);
        for (let i = 0; i < w.length; i++) {
          // Updates are ~lr = 1e-3; f32 weights keep ~1e-7, so 1e-5 separates a right update from
          // a wrong one (which misses by ~1e-3).
          assert(Math.abs(w[i] - t.data[i]) < 1e-5, `${name}[${i}]: ${w[i]} vs ${t.data[i]}`);
        }
      }
    });
  },
);
