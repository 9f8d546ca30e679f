/**
 * Proof-forward throughput of the WebGPU model: B sequences of T random tokens through the final
 * hidden states and the next-token log-probs (lm_head + log-softmax), hidden states read back.
 *
 *   deno run -A bench/proof_forward.ts --shape qwen2.5-0.5b --batch 16 --len 1024 --precision f32
 *   deno run -A bench/proof_forward.ts --model ../shared/fixtures/qwen3-tiny --batch 4 --len 128
 *   deno run -A bench/proof_forward.ts --backend cuda --shape qwen2.5-0.5b --precision bf16
 *
 * `--prefetch true|false` overrides the large-tile matmul's register prefetch (same bits; by default
 * on for f32, off for f16).
 * Prints one JSON object per line: the throughput (median of --iters timed runs after one
 * warm-up), then with --profile the GPU time per kernel family (timestamp queries, one extra run).
 */
import { openCheckpoint } from "../src/model/checkpoint.ts";
import { WebGpuModel } from "../src/gpu/webgpu_model.ts";
import type { WeightDType } from "../src/gpu/weights.ts";
import { MATMUL_TILES_LARGE } from "../src/gpu/matmul.ts";
import { flags, median, randomCheckpoint, SHAPES } from "./_random_checkpoint.ts";

const f = flags(Deno.args);
if (f.get("backend") === "cuda") {
  // The CUDA backend's run (same work and JSON shape; --precision bf16|f32).
  const { runCudaProofForward } = await import("./cuda_proof_forward.ts");
  await runCudaProofForward(f);
  Deno.exit(0);
}
const B = Number(f.get("batch") ?? 16);
const T = Number(f.get("len") ?? 1024);
const iters = Number(f.get("iters") ?? 3);
const precision = (f.get("precision") ?? "f32") as WeightDType;
const shapeName = f.get("shape");
const prefetchFlag = f.get("prefetch");
const tiles = prefetchFlag === undefined
  ? undefined
  : { ...MATMUL_TILES_LARGE, prefetch: prefetchFlag === "true" };
const ckpt = shapeName
  ? randomCheckpoint(SHAPES[shapeName])
  : await openCheckpoint(f.get("model")!);
const shape = shapeName ?? ckpt.dir.split("/").filter(Boolean).pop()!;

const t0 = performance.now();
const model = await WebGpuModel.load(ckpt, {
  precision,
  maxRowsPerPass: B * T,
  proofCapacityTokens: B * T,
  profile: false,
  tiles,
});
ckpt.close();
const loadMs = performance.now() - t0;
const device = model.context.description;
let s = 12345;
const seqs = Array.from({ length: B }, () =>
  Array.from({ length: T }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s % model.vocabSize;
  }));
await model.proofForward(seqs); // warm-up: pipelines, caches
const times: number[] = [];
for (let i = 0; i < iters; i++) {
  const t = performance.now();
  await model.proofForward(seqs);
  times.push(performance.now() - t);
}
const ms = median(times);
console.log(JSON.stringify({
  name: "proof_forward",
  device,
  shape: `${shape} B=${B} T=${T}`,
  precision,
  matmulPrefetch: tiles?.prefetch ?? precision === "f32",
  metric: "tokens_per_s",
  value: Math.round((B * T) / (ms / 1000)),
  unit: "tok/s",
  iterations: iters,
  medianMs: Math.round(ms * 10) / 10,
  allMs: times.map((x) => Math.round(x)),
  loadMs: Math.round(loadMs),
  peakGpuBytes: model.context.peakBytes,
}));
model.dispose();

if (f.get("profile") === "true") {
  const ck = shapeName
    ? randomCheckpoint(SHAPES[shapeName])
    : await openCheckpoint(f.get("model")!);
  const prof = await WebGpuModel.load(ck, {
    precision,
    maxRowsPerPass: B * T,
    proofCapacityTokens: B * T,
    profile: true,
    tiles,
  });
  ck.close();
  await prof.proofForward(seqs);
  prof.resetProfile();
  const t = performance.now();
  await prof.proofForward(seqs);
  const wall = performance.now() - t;
  const totals = prof.profile();
  const gpuNs = [...totals.values()].reduce((a, b) => a + b, 0);
  for (const [kernel, ns] of [...totals].sort((a, b) => b[1] - a[1])) {
    console.log(JSON.stringify({
      name: "proof_forward_profile",
      device,
      shape: `${shape} B=${B} T=${T}`,
      precision,
      kernel,
      metric: "gpu_ms",
      value: Math.round(ns / 1e4) / 100,
      unit: "ms",
      share: Math.round((1000 * ns) / gpuNs) / 1000,
      iterations: 1,
    }));
  }
  console.log(JSON.stringify({
    name: "proof_forward_profile_total",
    device,
    shape: `${shape} B=${B} T=${T}`,
    precision,
    metric: "gpu_ms",
    value: Math.round(gpuNs / 1e4) / 100,
    unit: "ms",
    wallMsProfiled: Math.round(wall),
    iterations: 1,
  }));
  prof.dispose();
}
