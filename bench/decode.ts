/**
 * Decode throughput of a WebGPU generation session: a batch of B rows sharing one prompt of P
 * random tokens (a GRPO group), then S greedy steps; full logits [B, V] come back every step.
 *
 *   deno run -A bench/decode.ts --shape qwen2.5-0.5b --batch 16 --prompt 32 --steps 128
 *
 * Prints one JSON object per line (prefill time, decode tokens/s).
 */
import { openCheckpoint } from "../src/model/checkpoint.ts";
import { WebGpuModel } from "../src/gpu/webgpu_model.ts";
import type { WeightDType } from "../src/gpu/weights.ts";
import { flags, median, randomCheckpoint, SHAPES } from "./_random_checkpoint.ts";

const f = flags(Deno.args);
const B = Number(f.get("batch") ?? 16);
const P = Number(f.get("prompt") ?? 32);
const S = Number(f.get("steps") ?? 128);
const precision = (f.get("precision") ?? "f32") as WeightDType;
const shapeName = f.get("shape");
const ckpt = shapeName
  ? randomCheckpoint(SHAPES[shapeName])
  : await openCheckpoint(f.get("model")!);
const shape = shapeName ?? ckpt.dir.split("/").filter(Boolean).pop()!;
const model = await WebGpuModel.load(ckpt, { precision, maxRowsPerPass: Math.max(B, P) });
ckpt.close();
const device = model.context.description;
const prompt = Array.from({ length: P }, (_, i) => (i * 7919 + 13) % model.vocabSize);
const V = model.vocabSize;

function argmaxRows(logits: Float32Array): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[b * V + v] > logits[b * V + best]) best = v;
    out.push(best);
  }
  return out;
}

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
    device,
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
