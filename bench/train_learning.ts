/**
 * Runs the learning demonstration (src/train/learning_demo.ts) and writes the reward curve to
 * docs/train_learning.svg; prints one JSON object per window.
 * Usage: deno run -A bench/train_learning.ts [windows=20] [svgPath=docs/train_learning.svg]
 *   [lr=3e-3] [klCoef=0.02] [backend=cpu|webgpu]
 */
import { rewardSvg, runLearningDemo } from "../src/train/learning_demo.ts";
import { GpuContext } from "../src/gpu/context.ts";
import { GpuGradientEngine } from "../src/gpu/train/gpu_engine.ts";

if (import.meta.main) {
  const windows = Number(Deno.args[0] ?? 20);
  const svgPath = Deno.args[1] ?? "docs/train_learning.svg";
  const lr = Number(Deno.args[2] ?? 3e-3);
  const klCoef = Number(Deno.args[3] ?? 0.02);
  const backend = Deno.args[4] ?? "cpu";
  let gpu: GpuContext | null = null;
  const dir = await Deno.makeTempDir({ prefix: "grail-train-demo-" });
  const t0 = performance.now();
  try {
    const rows = await runLearningDemo({
      dir,
      windows,
      hyper: { lr, klCoef },
      gradientEngine: backend === "webgpu"
        ? async (config, params, reference) => {
          gpu = await GpuContext.create();
          return await GpuGradientEngine.create(gpu, config, params, reference, 16);
        }
        : undefined,
      onWindow: (r) =>
        console.log(JSON.stringify({
          name: "train_learning",
          device: backend === "webgpu"
            ? "webgpu gradients, float64 AdamW"
            : "cpu (float64 reference trainer)",
          shape: "tiny qwen3 C=64 L=2 V=300, 8 groups x 16 rollouts x 8 tokens",
          metric: "mean_reward",
          value: r.meanReward,
          unit: "reward",
          iterations: 1,
          window: r.window,
          checkpoint_window: r.checkpointWindow,
          success_rate: r.successRate,
          loss: r.loss,
          published: r.published,
          elapsed_s: (performance.now() - t0) / 1000,
        })),
    });
    await Deno.writeTextFile(
      svgPath,
      rewardSvg(rows, "GRPO on the local network: toy “echo the digit”, tiny Qwen3"),
    );
  } finally {
    (gpu as GpuContext | null)?.destroy();
    await Deno.remove(dir, { recursive: true });
  }
}
