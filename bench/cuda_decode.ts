/**
 * Decode throughput of a CUDA generation session: B rows sharing one prompt of P random tokens (a
 * GRPO group), then S greedy steps with full logits [B, V] back every step — the same work and
 * JSON shape as bench/decode.ts, plus "backend". Run directly or through
 * `bench/decode.ts --backend cuda`.
 *
 *   deno run -A bench/cuda_decode.ts --shape qwen2.5-0.5b --batch 16 --prompt 32 --steps 128
 */
import { openCheckpoint } from "../src/model/checkpoint.ts";
import { CudaModel } from "../src/cuda/cuda_model.ts";
import type { CudaPrecision } from "../src/cuda/kernels_source.ts";
import { flags, median, randomCheckpoint, SHAPES } from "./_random_checkpoint.ts";

/**
 * Runs the benchmark with parsed flags.
 *
 * @param f Flags (batch, prompt, steps, precision, shape or model).
 */
export async function runCudaDecode(f: Map<string, string>): Promise<void> {
  const B = Number(f.get("batch") ?? 16);
  const P = Number(f.get("prompt") ?? 32);
  const S = Number(f.get("steps") ?? 128);
  const precision = (f.get("precision") ?? "bf16") as CudaPrecision;
  const shapeName = f.get("shape");
  const ckpt = shapeName
    ? randomCheckpoint(SHAPES[shapeName])
    : await openCheckpoint(f.get("model")!);
  const shape = shapeName ?? ckpt.dir.split("/").filter(Boolean).pop()!;
  // R = the proof forward's default: decode runs the same pinned GEMM algorithms (bit-equal
  // positions), chosen for large M.
  const model = await CudaModel.load(ckpt, {
    precision,
    maxRowsPerPass: Number(f.get("rows") ?? 4096),
    proofCapacityTokens: 16,
  });
  ckpt.close();
  const V = model.vocabSize;
  const prompt = Array.from({ length: P }, (_, i) => (i * 7919 + 13) % V);
  const argmaxRows = (logits: Float32Array): number[] => {
    const out: number[] = [];
    for (let b = 0; b < B; b++) {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[b * V + v] > logits[b * V + best]) best = v;
      out.push(best);
    }
    return out;
  };
  for (let round = 0; round < 2; round++) {
    const session = model.startGeneration(B, P + S);
    const t0 = performance.now();
    let logits = await session.prefill(Array.from({ length: B }, () => prompt));
    const prefillMs = performance.now() - t0;
    const stepMs: number[] = [];
    const t1 = performance.now();
    for (let i = 0; i < S; i++) {
      const t = performance.now();
      logits = await session.step(argmaxRows(logits));
      stepMs.push(performance.now() - t);
    }
    const total = performance.now() - t1;
    session.dispose();
    if (round === 0) continue; // warm-up round
    console.log(JSON.stringify({
      name: "decode",
      backend: "cuda",
      device: model.context.name,
      shape: `${shape} B=${B} prompt=${P} steps=${S}`,
      precision,
      metric: "tokens_per_s",
      value: Math.round((B * S) / (total / 1000)),
      unit: "tok/s",
      iterations: S,
      medianStepMs: Math.round(median(stepMs) * 100) / 100,
      prefillMs: Math.round(prefillMs),
      peakGpuBytes: model.context.peakBytes,
    }));
  }
  model.dispose();
}

if (import.meta.main) await runCudaDecode(flags(Deno.args));
