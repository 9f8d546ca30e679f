/**
 * Decode throughput of a WebGPU generation session and where a step's time goes: a batch of B
 * rows sharing one prompt of P tokens (a GRPO group), then S steps, in two modes —
 *
 * - `logits`: `session.step()` reads the full logits [B, V] back and the host samples each row
 *   (`sampleToken`), the portable path;
 * - `device`: `session.select.step()` keeps the logits on the GPU and reads back per row the top
 *   candidates (`sampleFromCandidates` decides; a row it cannot decide reads the full logits).
 *
 *   deno run -A bench/decode.ts --shape qwen2.5-0.5b --batch 16 --prompt 32 --steps 64
 *   deno run -A bench/decode.ts --shape qwen2.5-0.5b --layers 2 --hidden 128 --steps 16  # llvmpipe
 *   deno run -A bench/decode.ts --backend cuda --shape qwen2.5-0.5b --precision bf16
 *
 * Flags: --model DIR | --shape NAME [--layers L] [--hidden C]; --batch, --prompt, --steps
 * (--steps-logits: fewer for the slow logits mode); --precision f32|f16; --mode
 * logits|device|both; --sampling greedy|protocol|greedy,protocol (protocol: T 0.7, top-p 0.9,
 * top-k 50); --profile (GPU ms per kernel family from timestamp queries; slower); --sessions N
 * (also N device-mode sessions of B rows each stepping concurrently: while one waits on its
 * readback another's step runs on the GPU); --generate (also `generate()` end to end, what a miner
 * calls: the device path generate() picks for these parameters, EOS off).
 *
 * Prints one JSON object per line: per mode, tokens/s and the median step, then one line per
 * phase (ms per step: write, encode, submit, wait = mapAsync, read, sample = host sampling),
 * and the runtime's bare map latency (a 16-byte copy and `mapAsync`).
 */
import { openCheckpoint } from "../src/model/checkpoint.ts";
import type { ModelConfig } from "../src/model/config.ts";
import {
  candidateRequest,
  PROTOCOL_GENERATION_DEFAULTS,
  type RowCandidates,
  sampleFromCandidates,
  sampleToken,
  type SamplingParams,
} from "../src/model/sampling.ts";
import { SeededRandom } from "../src/model/seeded_random.ts";
import { generate } from "../src/model/generate.ts";
import { WebGpuModel } from "../src/gpu/webgpu_model.ts";
import type { WeightDType } from "../src/gpu/weights.ts";
import { flags, median, randomCheckpoint, SHAPES } from "./_random_checkpoint.ts";

const f = flags(Deno.args);
if (f.get("backend") === "cuda") {
  // The CUDA backend's greedy logits-mode run (bench/cuda_decode.ts; --precision bf16|f32).
  const { runCudaDecode } = await import("./cuda_decode.ts");
  await runCudaDecode(f);
  Deno.exit(0);
}
const B = Number(f.get("batch") ?? 16);
const P = Number(f.get("prompt") ?? 32);
const S = Number(f.get("steps") ?? 64);
const S_LOGITS = Number(f.get("steps-logits") ?? S);
const precision = (f.get("precision") ?? "f32") as WeightDType;
const modes = (f.get("mode") ?? "both") === "both" ? ["logits", "device"] : [f.get("mode")!];
const samplings = (f.get("sampling") ?? "greedy").split(",");
const profile = f.has("profile");
const SESSIONS = Number(f.get("sessions") ?? 1);
const GENERATE = f.has("generate");
const shapeName = f.get("shape");

function shapeConfig(name: string): ModelConfig {
  const base = SHAPES[name];
  if (!base) throw new RangeError(`Unknown --shape ${name}: expected ${Object.keys(SHAPES)}`);
  const L = Number(f.get("layers") ?? base.numLayers);
  const C = Number(f.get("hidden") ?? base.hiddenSize);
  if (C === base.hiddenSize) return { ...base, numLayers: L };
  // A narrower model of the same vocabulary: heads of 64 (KV heads 1 per 4), MLP 5.4 × C.
  const NH = Math.max(1, C / 64);
  return {
    ...base,
    numLayers: L,
    hiddenSize: C,
    numHeads: NH,
    numKvHeads: Math.max(1, NH / 4),
    headDim: 64,
    intermediateSize: 4 * Math.round((C * 5.4) / 4),
  };
}

const ckpt = shapeName
  ? randomCheckpoint(shapeConfig(shapeName))
  : await openCheckpoint(f.get("model")!);
const config = ckpt.config;
const shape = shapeName
  ? `${shapeName} L=${config.numLayers} C=${config.hiddenSize} V=${config.vocabSize}`
  : ckpt.dir.split("/").filter(Boolean).pop()!;
const model = await WebGpuModel.load(ckpt, { precision, maxRowsPerPass: Math.max(B, P), profile });
ckpt.close();
const device = model.context.description;
const V = model.vocabSize;
const prompt = Array.from({ length: P }, (_, i) => (i * 7919 + 13) % V);
const SAMPLING: Record<string, SamplingParams> = {
  greedy: { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, greedy: true },
  protocol: { ...PROTOCOL_GENERATION_DEFAULTS },
};
const round2 = (x: number) => Math.round(x * 100) / 100;

async function mapFloorMs(): Promise<number> {
  const ctx = model.context;
  const src = ctx.storage(16, "floor-src");
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await ctx.read(src, 0, 16);
    times.push(performance.now() - t);
  }
  ctx.release(src);
  return median(times);
}

async function run(mode: string, samplingName: string, timed: boolean): Promise<void> {
  const params = SAMPLING[samplingName];
  if (!params) throw new RangeError(`Unknown --sampling ${samplingName}: expected greedy|protocol`);
  const request = candidateRequest(params, V)!;
  const steps = mode === "logits" ? S_LOGITS : S;
  const common = {
    device,
    shape: `${shape} B=${B} prompt=${P} steps=${steps}`,
    precision,
    sampling: samplingName,
  };
  const session = model.startGeneration(B, P + steps + 1);
  const rng = new SeededRandom(1);
  const histories = Array.from({ length: B }, () => [...prompt]);
  const prompts = Array.from({ length: B }, () => prompt);
  let sampleMs = 0;
  let fallbacks = 0;
  const pick = async (
    logits: Float32Array | null,
    cands: RowCandidates[] | null,
  ): Promise<number[]> => {
    const t = performance.now();
    const out: number[] = [];
    let full = logits;
    for (let b = 0; b < B; b++) {
      let id = cands ? sampleFromCandidates(cands[b], histories[b], params, rng) : null;
      if (id === null) {
        if (cands) {
          fallbacks++;
          full ??= await session.select!.logits();
        }
        id = sampleToken(full!.subarray(b * V, (b + 1) * V), histories[b], params, rng);
      }
      histories[b].push(id);
      out.push(id);
    }
    sampleMs += performance.now() - t;
    return out;
  };
  const t0 = performance.now();
  let next: number[];
  if (mode === "device") {
    next = await pick(null, (await session.select!.prefill(prompts, request)).candidates);
  } else {
    next = await pick(await session.prefill(prompts), null);
  }
  const prefillMs = performance.now() - t0;
  session.resetPhaseTimes();
  model.resetProfile();
  sampleMs = 0;
  const stepMs: number[] = [];
  const t1 = performance.now();
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    if (mode === "device") {
      next = await pick(null, (await session.select!.step(next, request)).candidates);
    } else {
      next = await pick(await session.step(next), null);
    }
    stepMs.push(performance.now() - t);
  }
  const total = performance.now() - t1;
  const phases = session.phaseTimes();
  session.dispose();
  if (!timed) return;
  console.log(JSON.stringify({
    name: "decode",
    ...common,
    mode,
    metric: "tokens_per_s",
    value: Math.round((B * steps) / (total / 1000)),
    unit: "tok/s",
    iterations: steps,
    medianStepMs: round2(median(stepMs)),
    prefillMs: Math.round(prefillMs),
    fullRowFallbacks: fallbacks,
    peakGpuBytes: model.context.peakBytes,
  }));
  const perStep = { ...phases.ms, sample: sampleMs };
  for (const [phase, ms] of Object.entries(perStep)) {
    console.log(JSON.stringify({
      name: "decode_phase",
      ...common,
      mode,
      phase,
      metric: "ms_per_step",
      value: round2(ms / steps),
      unit: "ms",
      iterations: steps,
    }));
  }
  if (profile) {
    for (const [family, ns] of model.profile()) {
      console.log(JSON.stringify({
        name: "decode_gpu",
        ...common,
        mode,
        family,
        metric: "gpu_ms_per_step",
        value: round2(ns / 1e6 / steps),
        unit: "ms",
        iterations: steps,
      }));
    }
  }
}

/**
 * Greedy with `select.greedy`: each step's argmax is fed on the device, one readback per chunk
 * of `chunk` steps (what generate() does for greedy without a repetition penalty).
 */
async function runChunked(chunk: number, timed: boolean): Promise<void> {
  const params = SAMPLING.greedy;
  const request = candidateRequest(params, V)!;
  const session = model.startGeneration(B, P + S + 1);
  const select = session.select!;
  const first = await select.prefill(Array.from({ length: B }, () => prompt), request);
  let next = first.candidates.map((c) => sampleFromCandidates(c, [...prompt], params, rng0)!);
  session.resetPhaseTimes();
  const t = performance.now();
  for (let done = 0; done < S; done += chunk) {
    const steps = Math.min(chunk, S - done);
    const out = await select.greedy!(next, steps, request);
    next = Array.from(out.tokens.subarray((steps - 1) * B, steps * B));
  }
  const ms = performance.now() - t;
  const phases = session.phaseTimes();
  session.dispose();
  if (!timed) return;
  const common = {
    device,
    shape: `${shape} B=${B} prompt=${P} steps=${S}`,
    precision,
    sampling: "greedy",
    mode: `device_chunk${chunk}`,
  };
  console.log(JSON.stringify({
    name: "decode",
    ...common,
    metric: "tokens_per_s",
    value: Math.round((B * S) / (ms / 1000)),
    unit: "tok/s",
    iterations: S,
    meanStepMs: round2(ms / S),
  }));
  for (const phase of ["write", "encode", "submit"] as const) {
    console.log(JSON.stringify({
      name: "decode_phase",
      ...common,
      phase,
      metric: "ms_per_step",
      value: round2(phases.ms[phase] / S),
      unit: "ms",
      iterations: S,
    }));
  }
}
const rng0 = new SeededRandom(0);

/** `generate()` end to end (prefill, S new tokens per row, log-probs); tokens/s of new tokens. */
async function runGenerate(samplingName: string): Promise<void> {
  const prompts = Array.from({ length: B }, () => prompt);
  const opts = { ...SAMPLING[samplingName], maxNewTokens: S, eosTokenIds: [] };
  await generate(model, prompts, opts, new SeededRandom(1)); // warm-up
  const t = performance.now();
  const out = await generate(model, prompts, opts, new SeededRandom(2));
  const ms = performance.now() - t;
  const tokens = out.reduce((n, r) => n + r.completionLength, 0);
  console.log(JSON.stringify({
    name: "generate",
    device,
    shape: `${shape} B=${B} prompt=${P} new=${S}`,
    precision,
    sampling: samplingName,
    metric: "tokens_per_s",
    value: Math.round(tokens / (ms / 1000)),
    unit: "tok/s",
    iterations: 1,
    totalMs: Math.round(ms),
  }));
}

/** N device-mode sessions decoding concurrently; aggregate tokens/s. */
async function runConcurrent(n: number, samplingName: string): Promise<void> {
  const params = SAMPLING[samplingName];
  const request = candidateRequest(params, V)!;
  const one = async (k: number) => {
    const session = model.startGeneration(B, P + S + 1);
    const rng = new SeededRandom(100 + k);
    const histories = Array.from({ length: B }, () => [...prompt]);
    const pick = async (cands: RowCandidates[]) => {
      let full: Float32Array | null = null;
      const out: number[] = [];
      for (let b = 0; b < B; b++) {
        let id = sampleFromCandidates(cands[b], histories[b], params, rng);
        if (id === null) {
          full ??= await session.select!.logits();
          id = sampleToken(full.subarray(b * V, (b + 1) * V), histories[b], params, rng);
        }
        histories[b].push(id);
        out.push(id);
      }
      return out;
    };
    let next = await pick(
      (await session.select!.prefill(Array.from({ length: B }, () => prompt), request))
        .candidates,
    );
    for (let i = 0; i < S; i++) {
      next = await pick((await session.select!.step(next, request)).candidates);
    }
    session.dispose();
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: n }, (_, k) => one(k)));
  const ms = performance.now() - t;
  console.log(JSON.stringify({
    name: "decode_concurrent",
    device,
    shape: `${shape} ${n} sessions × B=${B} prompt=${P} steps=${S}`,
    precision,
    sampling: samplingName,
    mode: "device",
    metric: "tokens_per_s",
    value: Math.round((n * B * S) / (ms / 1000)),
    unit: "tok/s",
    iterations: S,
  }));
}

for (const samplingName of samplings) {
  for (const mode of modes) {
    await run(mode, samplingName, false); // warm-up: pipelines, staging buffers
    await run(mode, samplingName, true);
  }
  if (SESSIONS > 1 && modes.includes("device")) await runConcurrent(SESSIONS, samplingName);
  if (GENERATE) await runGenerate(samplingName);
  if (samplingName === "greedy" && modes.includes("device")) {
    await runChunked(16, false);
    await runChunked(16, true);
  }
}
console.log(JSON.stringify({
  name: "map_floor",
  device,
  shape,
  metric: "ms",
  value: round2(await mapFloorMs()),
  unit: "ms",
  iterations: 10,
}));
model.dispose();
