/**
 * Decode throughput of a CUDA generation session: B rows sharing one prompt of P random tokens (a
 * GRPO group), then S greedy steps — the same work and JSON shape as bench/decode.ts, plus
 * "backend" and "mode". Run directly or through `bench/decode.ts --backend cuda`.
 *
 * --modes (comma list; default all but generate_rows):
 *   candidates      GPU time of the candidates kernel alone on [B, V] Gaussian-like logits, M 8
 *                   and 66 (greedy, top-k 50); --candidates-source FILE also times another
 *                   sample.cu text
 *   logits          full logits [B, V] back every step, host argmax
 *   select          session.select: candidates back every step, host argmax from them
 *   device_chunk16  select.greedy: 16 steps fed on the device per call
 *   generate        generate() end to end, protocol defaults (T 0.7, top-p 0.9, top-k 50), EOS
 *                   off; --generate-steps N new tokens (default S)
 *   generate_rows   the same with the session's `select` hidden (full rows back every step: what
 *                   generate() did on CUDA before `select`; host top-p over V ids, slow)
 *
 *   deno run -A bench/cuda_decode.ts --shape qwen2.5-0.5b --batch 16 --prompt 32 --steps 128
 */
import { openCheckpoint } from "../src/model/checkpoint.ts";
import { CudaModel } from "../src/cuda/cuda_model.ts";
import { CudaCandidates } from "../src/cuda/sample.ts";
import { generate } from "../src/model/generate.ts";
import { candidateRequest, PROTOCOL_GENERATION_DEFAULTS } from "../src/model/sampling.ts";
import { SeededRandom } from "../src/model/seeded_random.ts";
import type { CudaPrecision } from "../src/cuda/kernels_source.ts";
import type { GenerationSession, Model } from "../src/model/model.ts";
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
  // generate_rows is opt-in: host top-p over full 151,936-id rows takes minutes.
  const modes = (f.get("modes") ?? "candidates,logits,select,device_chunk16,generate").split(",");
  const greedyRequest = candidateRequest({ ...PROTOCOL_GENERATION_DEFAULTS, greedy: true }, V)!;
  const candidateArgmax = (c: { ids: Uint32Array; logits: Float32Array }) => {
    let best = 0;
    for (let i = 1; i < c.ids.length; i++) {
      const better = c.logits[i] > c.logits[best] ||
        (c.logits[i] === c.logits[best] && c.ids[i] < c.ids[best]);
      if (better) best = i;
    }
    return c.ids[best];
  };
  const prompts = Array.from({ length: B }, () => prompt);
  /** One timed decode of S steps in a mode; returns [prefill ms, per-step ms, total ms]. */
  const decode = async (mode: string): Promise<[number, number[], number]> => {
    const session = model.startGeneration(B, P + S);
    const select = session.select!;
    const stepMs: number[] = [];
    const t0 = performance.now();
    let total = 0;
    if (mode === "logits") {
      let logits = await session.prefill(prompts);
      const prefillMs = performance.now() - t0;
      const t1 = performance.now();
      for (let i = 0; i < S; i++) {
        const t = performance.now();
        logits = await session.step(argmaxRows(logits));
        stepMs.push(performance.now() - t);
      }
      total = performance.now() - t1;
      session.dispose();
      return [prefillMs, stepMs, total];
    }
    let first = await select.prefill(prompts, greedyRequest);
    const prefillMs = performance.now() - t0;
    const t1 = performance.now();
    if (mode === "select") {
      for (let i = 0; i < S; i++) {
        const t = performance.now();
        first = await select.step(first.candidates.map(candidateArgmax), greedyRequest);
        stepMs.push(performance.now() - t);
      }
    } else {
      // device_chunk16: S steps, 16 per call (S − 1 fed after the first call's token).
      let next = first.candidates.map(candidateArgmax);
      for (let done = 0; done < S; done += 16) {
        const steps = Math.min(16, S - done);
        const t = performance.now();
        const out = await select.greedy!(next, steps, greedyRequest);
        stepMs.push((performance.now() - t) / steps);
        next = Array.from(out.tokens.subarray((steps - 1) * B, steps * B));
      }
    }
    total = performance.now() - t1;
    session.dispose();
    return [prefillMs, stepMs, total];
  };
  const common = {
    backend: "cuda",
    device: model.context.name,
    precision,
  };
  for (const mode of modes) {
    if (mode === "candidates") {
      const ctx = model.context;
      // --candidates-source FILE: also time another sample.cu (e.g. an earlier version).
      const variants: [string, CudaCandidates][] = [["shipped", CudaCandidates.compile(ctx)]];
      const other = f.get("candidates-source");
      if (other) variants.push([other, CudaCandidates.compile(ctx, Deno.readTextFileSync(other))]);
      let s = 12345;
      const uniform = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
      const logits = Float32Array.from(
        { length: B * V },
        () => (uniform() + uniform() + uniform() + uniform() - 2) * 3,
      );
      const bufs = {
        logits: ctx.alloc(B * V * 4, "bench-logits"),
        top: ctx.alloc(B * (2 * 66 + 3) * 4, "bench-top"),
        gathered: ctx.alloc(B * 4, "bench-gathered"),
        seen: ctx.alloc(B * 4, "bench-seen"),
        seenCount: ctx.alloc(B * 4, "bench-seen-count"),
      };
      ctx.upload(bufs.logits, logits);
      ctx.fill(bufs.seenCount, 0);
      for (const [source, k] of variants) {
        for (const m of [8, 66]) {
          const iters = 50;
          k.launch(bufs, B, V, m, 1, V); // warm-up
          const ms = ctx.time(() => {
            for (let i = 0; i < iters; i++) k.launch(bufs, B, V, m, 1, V);
          });
          console.log(JSON.stringify({
            name: "candidates",
            ...common,
            source,
            shape: `${shape} B=${B} V=${V} M=${m}`,
            metric: "gpu_ms_per_call",
            value: Math.round((ms / iters) * 1000) / 1000,
            unit: "ms",
            iterations: iters,
          }));
        }
      }
      for (const b of Object.values(bufs)) ctx.free(b);
      continue;
    }
    if (mode === "generate" || mode === "generate_rows") {
      const newTokens = Number(f.get("generate-steps") ?? S);
      const opts = { ...PROTOCOL_GENERATION_DEFAULTS, maxNewTokens: newTokens, eosTokenIds: [] };
      const target = mode === "generate" ? model : fullRowsOnly(model);
      await generate(target, prompts, opts, new SeededRandom(1)); // warm-up
      const t = performance.now();
      const out = await generate(target, prompts, opts, new SeededRandom(2));
      const ms = performance.now() - t;
      const tokens = out.reduce((n, r) => n + r.completionLength, 0);
      console.log(JSON.stringify({
        name: "generate",
        ...common,
        shape: `${shape} B=${B} prompt=${P} new=${newTokens}`,
        mode,
        sampling: "protocol defaults",
        metric: "tokens_per_s",
        value: Math.round(tokens / (ms / 1000)),
        unit: "tok/s",
        iterations: 1,
        totalMs: Math.round(ms),
      }));
      continue;
    }
    if (!["logits", "select", "device_chunk16"].includes(mode)) {
      throw new RangeError(
        `Invalid mode ${mode}: expected logits, select, device_chunk16 or generate`,
      );
    }
    await decode(mode); // warm-up (graph capture, buffers)
    const [prefillMs, stepMs, total] = await decode(mode);
    console.log(JSON.stringify({
      name: "decode",
      ...common,
      shape: `${shape} B=${B} prompt=${P} steps=${S}`,
      mode,
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

/** The same model with its sessions' `select` hidden: generate() then takes full rows. */
function fullRowsOnly(model: Model): Model {
  return new Proxy(model, {
    get(target, key) {
      if (key === "startGeneration") {
        return (batch: number, maxLen: number): GenerationSession => {
          const s = target.startGeneration(batch, maxLen);
          return {
            prefill: (p) => s.prefill(p),
            step: (t) => s.step(t),
            dispose: () => s.dispose(),
          };
        };
      }
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

if (import.meta.main) await runCudaDecode(flags(Deno.args));
