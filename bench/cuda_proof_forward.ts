/**
 * Proof-forward throughput of the CUDA model: B sequences of T random tokens through the final
 * hidden states and the next-token log-probs (lm_head + log-softmax), hidden states read back —
 * the same work and JSON shape as bench/proof_forward.ts, plus "backend" and the pinned cuBLASLt
 * algorithms. Run directly or through `bench/proof_forward.ts --backend cuda`.
 *
 *   deno run -A bench/cuda_proof_forward.ts --shape qwen2.5-0.5b --batch 16 --len 1024 --precision bf16
 *   deno run -A bench/cuda_proof_forward.ts --model ../shared/fixtures/qwen3-tiny --batch 4 --len 128
 *
 * `--profile true` adds one line per layer op with its GPU milliseconds (events around each op
 * family in one extra run).
 */
import { openCheckpoint } from "../src/model/checkpoint.ts";
import { CudaModel } from "../src/cuda/cuda_model.ts";
import type { CudaPrecision } from "../src/cuda/kernels_source.ts";
import { flags, median, randomCheckpoint, SHAPES } from "./_random_checkpoint.ts";

/**
 * Runs the benchmark with parsed flags.
 *
 * @param f Flags (batch, len, iters, precision, shape or model).
 */
export async function runCudaProofForward(f: Map<string, string>): Promise<void> {
  const B = Number(f.get("batch") ?? 16);
  const T = Number(f.get("len") ?? 1024);
  const iters = Number(f.get("iters") ?? 3);
  const precision = (f.get("precision") ?? "bf16") as CudaPrecision;
  const shapeName = f.get("shape");
  const ckpt = shapeName
    ? randomCheckpoint(SHAPES[shapeName])
    : await openCheckpoint(f.get("model")!);
  const shape = shapeName ?? ckpt.dir.split("/").filter(Boolean).pop()!;
  const t0 = performance.now();
  const model = await CudaModel.load(ckpt, {
    precision,
    maxRowsPerPass: Number(f.get("rows") ?? B * T),
    proofCapacityTokens: B * T,
  });
  ckpt.close();
  const loadMs = performance.now() - t0;
  let s = 12345;
  const seqs = Array.from({ length: B }, () =>
    Array.from({ length: T }, () => {
      s = (s * 1103515245 + 12345) >>> 0;
      return s % model.vocabSize;
    }));
  await model.proofForward(seqs); // warm-up: KV cache allocation, cuBLASLt layouts
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t = performance.now();
    await model.proofForward(seqs);
    times.push(performance.now() - t);
  }
  const ms = median(times);
  // The floor the host adds: B fresh result arrays of T × C f32 written once (page faults + copy).
  const ta = performance.now();
  const sink = Array.from({ length: B }, () => new Float32Array(T * model.hiddenSize).fill(1));
  const hostResultMs = performance.now() - ta;
  const plans = Object.fromEntries(
    Object.entries(model.gemmPlans()).map(([k, p]) => [k, p.info]),
  );
  console.log(JSON.stringify({
    name: "proof_forward",
    backend: "cuda",
    device: model.context.name,
    shape: `${shape} B=${B} T=${T}`,
    precision,
    metric: "tokens_per_s",
    value: Math.round((B * T) / (ms / 1000)),
    unit: "tok/s",
    iterations: iters,
    medianMs: Math.round(ms * 10) / 10,
    allMs: times.map((x) => Math.round(x)),
    loadMs: Math.round(loadMs),
    hostResultFillMs: Math.round(hostResultMs * 10) / 10,
    resultArrays: sink.length,
    peakGpuBytes: model.context.peakBytes,
    cublasLt: model.gemm.version,
    gemmAlgos: plans,
  }));
  model.dispose();
  if (f.get("profile") !== "true") return;
  const ck = shapeName
    ? randomCheckpoint(SHAPES[shapeName])
    : await openCheckpoint(f.get("model")!);
  const prof = await CudaModel.load(ck, {
    precision,
    maxRowsPerPass: Number(f.get("rows") ?? B * T),
    proofCapacityTokens: B * T,
    profile: true,
  });
  ck.close();
  await prof.proofForward(seqs);
  prof.resetProfile();
  const t = performance.now();
  await prof.proofForward(seqs);
  const wall = performance.now() - t;
  const totals = prof.profile();
  const gpuMs = [...totals.values()].reduce((a, b) => a + b, 0);
  for (const [kernel, opMs] of [...totals].sort((a, b) => b[1] - a[1])) {
    console.log(JSON.stringify({
      name: "proof_forward_profile",
      backend: "cuda",
      device: prof.context.name,
      shape: `${shape} B=${B} T=${T}`,
      precision,
      kernel,
      metric: "gpu_ms",
      value: Math.round(opMs * 100) / 100,
      unit: "ms",
      share: Math.round((1000 * opMs) / gpuMs) / 1000,
      iterations: 1,
    }));
  }
  console.log(JSON.stringify({
    name: "proof_forward_profile_total",
    backend: "cuda",
    device: prof.context.name,
    shape: `${shape} B=${B} T=${T}`,
    precision,
    metric: "gpu_ms",
    value: Math.round(gpuMs * 100) / 100,
    unit: "ms",
    wallMsProfiled: Math.round(wall),
    iterations: 1,
  }));
  prof.dispose();
}

if (import.meta.main) await runCudaProofForward(flags(Deno.args));
