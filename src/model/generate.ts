/**
 * Batched generation through any {@link Model}'s KV-cached session: prefill the prompts, then
 * sample one token per active row per step until each row stops on an EOS id, a stop id or the
 * token budget. The stopping token is kept in the completion (as SGLang's `output_ids` return
 * it, infra spec §8), so the reference's termination check sees EOS last.
 *
 * @module
 */

import type { DeviceSelect, GenerationSession, Model } from "./model.ts";
import {
  type CandidateRequest,
  candidateRequest,
  checkSamplingParams,
  type GenerationParams,
  PROTOCOL_GENERATION_DEFAULTS,
  sampleFromCandidates,
  sampleToken,
  type UniformSource,
} from "./sampling.ts";

/** Options of {@link generate} beyond the sampling parameters. */
export interface GenerateOptions extends Partial<GenerationParams> {
  /** Ids that end a row as "eos" (default: the config's `eos_token_id` list). */
  eosTokenIds?: readonly number[];
  /** Further ids that end a row as "stop". */
  stopTokenIds?: readonly number[];
}

/** One generated row. */
export interface GenerationOutput {
  /** Prompt followed by the completion. */
  tokens: number[];
  /** Prompt length in tokens. */
  promptLength: number;
  /** Completion length in tokens (the stopping token included). */
  completionLength: number;
  /** Why the row ended. */
  finishReason: "eos" | "stop" | "length";
  /**
   * Log-probability of each completion token under the raw model (no penalty or temperature):
   * what the proof forward reports for it. Where the session decodes on the device
   * ({@link DeviceSelect}) these are the backend's own log-softmax, bit-equal to its proof
   * forward's; otherwise a float64 log-softmax of the float32 logits row.
   */
  completionLogprobs: Float32Array;
}

/** One generated row while it runs. */
interface RowState {
  tokens: number[];
  promptLength: number;
  logprobs: number[];
  finish: GenerationOutput["finishReason"] | null;
}

function logSoftmaxAt(logits: Float32Array, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - max);
  return logits[id] - (max + Math.log(s));
}

/**
 * Generates a completion for each prompt.
 *
 * Sampling draws come from `rng` in a fixed order (each step, active rows in index order, one
 * draw per sampled token), so a run is reproducible from the seed, prompts and parameters.
 * Finished rows are fed the pad id until every row is done; their outputs are unaffected.
 *
 * Where the session offers {@link DeviceSelect} and the parameters have a top-k (or are greedy),
 * logits stay on the device: each step reads back per row the top candidates, a bound on the
 * rest and the previous ids' logits, from which `sampleFromCandidates` picks the very token
 * `sampleToken` would pick from the full row; a row they cannot decide reads the full logits.
 *
 * @param model Any backend.
 * @param prompts One non-empty prompt per row.
 * @param options Sampling parameters (defaults: {@link PROTOCOL_GENERATION_DEFAULTS}), EOS and
 *   stop ids, budget.
 * @param rng The seeded uniform source.
 * @returns One output per prompt.
 * @throws {RangeError} For invalid parameters or an empty prompt list.
 * @throws {ModelError} From the model (bad token, cache full).
 *
 * @example Greedy decoding of a tiny model is reproducible
 * ```ts
 * import { makeTinyModel } from "./tiny.ts";
 * import { loadCpuModel } from "./cpu_model.ts";
 * import { generate } from "./generate.ts";
 * import { SeededRandom } from "./seeded_random.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "qwen3", seed: 4, vocabSize: 64, hiddenSize: 32 });
 * const model = await loadCpuModel(dir);
 * await Deno.remove(dir, { recursive: true });
 * const [out] = await generate(model, [[1, 2, 3]], { greedy: true, maxNewTokens: 4, eosTokenIds: [] }, new SeededRandom(0));
 * if (out.completionLength !== 4 || out.finishReason !== "length") throw new Error();
 * ```
 */
export async function generate(
  model: Model,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
  rng: UniformSource,
): Promise<GenerationOutput[]> {
  const params: GenerationParams = { ...PROTOCOL_GENERATION_DEFAULTS, ...options };
  checkSamplingParams(params);
  if (!Number.isInteger(params.maxNewTokens) || params.maxNewTokens < 1) {
    throw new RangeError(
      `Invalid maxNewTokens: got ${params.maxNewTokens}, expected a positive integer`,
    );
  }
  if (prompts.length === 0) {
    throw new RangeError("Invalid prompts: empty list, expected at least one prompt");
  }
  const B = prompts.length;
  const V = model.vocabSize;
  const eos = new Set(options.eosTokenIds ?? model.config.eosTokenIds);
  const stop = new Set(options.stopTokenIds ?? []);
  const padId = model.config.padTokenId ?? model.config.eosTokenIds[0] ?? 0;
  const longest = Math.max(...prompts.map((p) => p.length));
  // Each row needs its prompt plus maxNewTokens − 1 fed-back tokens; the last sampled token is
  // never fed to the model.
  const maxLen = longest + params.maxNewTokens - 1;
  const freshRows = (): RowState[] =>
    prompts.map((p) => ({ tokens: [...p], promptLength: p.length, logprobs: [], finish: null }));
  const ends = { eos, stop, padId, V };
  let rows = freshRows();
  let session = model.startGeneration(B, maxLen);
  try {
    const select = session.select;
    const request = select ? candidateRequest(params, V) : null;
    if (select?.greedy && request && params.greedy && params.repetitionPenalty === 1) {
      if (!await decodeGreedyOnDevice(select, request, rows, prompts, params, ends)) {
        // A NaN logit: redo on full rows, where the host's argmax sees it. Greedy draws nothing,
        // so the rerun is the run the full-row path would have made.
        session.dispose();
        rows = freshRows();
        session = model.startGeneration(B, maxLen);
        await decodeFullRows(session, rows, prompts, params, rng, ends);
      }
    } else if (select && request) {
      await decodeOnDevice(select, request, rows, prompts, params, rng, ends);
    } else {
      await decodeFullRows(session, rows, prompts, params, rng, ends);
    }
  } finally {
    session.dispose();
  }
  return rows.map((r) => ({
    tokens: r.tokens,
    promptLength: r.promptLength,
    completionLength: r.tokens.length - r.promptLength,
    finishReason: r.finish as GenerationOutput["finishReason"],
    completionLogprobs: Float32Array.from(r.logprobs),
  }));
}

/** Records token `id` for a row and whether it ends the row. */
function append(
  row: RowState,
  id: number,
  step: number,
  params: GenerationParams,
  ends: { eos: ReadonlySet<number>; stop: ReadonlySet<number> },
): void {
  row.tokens.push(id);
  if (ends.eos.has(id)) row.finish = "eos";
  else if (ends.stop.has(id)) row.finish = "stop";
  else if (step + 1 >= params.maxNewTokens) row.finish = "length";
}

/** The portable loop: full logits rows back every step, float64 log-softmax. */
async function decodeFullRows(
  session: GenerationSession,
  rows: RowState[],
  prompts: readonly (readonly number[])[],
  params: GenerationParams,
  rng: UniformSource,
  o: { eos: ReadonlySet<number>; stop: ReadonlySet<number>; padId: number; V: number },
): Promise<void> {
  const B = rows.length;
  let logits = await session.prefill(prompts);
  for (let step = 0;; step++) {
    const next = new Array<number>(B).fill(o.padId);
    for (let b = 0; b < B; b++) {
      const row = rows[b];
      if (row.finish !== null) continue;
      const rowLogits = logits.subarray(b * o.V, (b + 1) * o.V);
      const id = sampleToken(rowLogits, row.tokens, params, rng);
      row.logprobs.push(logSoftmaxAt(rowLogits, id));
      append(row, id, step, params, o);
      next[b] = id;
    }
    if (rows.every((r) => r.finish !== null)) break;
    logits = await session.step(next);
  }
}

/**
 * The device loop: candidates back every step; a token's log-prob arrives with the next step
 * (taken from the logits it was sampled from), the last ones from one final call.
 */
async function decodeOnDevice(
  select: DeviceSelect,
  request: CandidateRequest,
  rows: RowState[],
  prompts: readonly (readonly number[])[],
  params: GenerationParams,
  rng: UniformSource,
  o: { eos: ReadonlySet<number>; stop: ReadonlySet<number>; padId: number },
): Promise<void> {
  const B = rows.length;
  let { candidates } = await select.prefill(prompts, request);
  for (let step = 0;; step++) {
    const next = new Array<number>(B).fill(o.padId);
    let full: Float32Array | null = null;
    for (let b = 0; b < B; b++) {
      const row = rows[b];
      if (row.finish !== null) continue;
      let id = sampleFromCandidates(candidates[b], row.tokens, params, rng);
      if (id === null) {
        full ??= await select.logits();
        const V = full.length / B;
        id = sampleToken(full.subarray(b * V, (b + 1) * V), row.tokens, params, rng);
      }
      append(row, id, step, params, o);
      next[b] = id;
    }
    const active = rows.map((r) => r.finish === null);
    const logprobs = active.some(Boolean)
      ? await select.step(next, request).then((r) => {
        candidates = r.candidates;
        return r.logprobs!;
      })
      : await select.logprobs(next);
    // Rows that sampled this step: their token's log-prob under the logits it came from.
    rows.forEach((row, b) => {
      if (row.tokens.length - row.promptLength > row.logprobs.length) {
        row.logprobs.push(logprobs[b]);
      }
    });
    if (!active.some(Boolean)) break;
  }
}

/** Greedy steps per device round trip (each round trip costs the runtime's ≥ 10 ms poll). */
const GREEDY_CHUNK_STEPS = 16;

/** Draws nothing: greedy candidates never ask for a uniform. */
const NO_DRAWS: UniformSource = {
  random(): number {
    throw new Error("greedy decoding drew a uniform");
  },
};

/**
 * Greedy decoding with many steps per round trip: the device feeds each step's argmax to the
 * next ({@link DeviceSelect.greedy}); the host replays the steps, ending rows on EOS, stop ids
 * or the budget (a finished row's later device steps are ignored: rows are independent).
 *
 * @returns false when a row met a NaN logit (the caller redoes the run on full rows).
 */
async function decodeGreedyOnDevice(
  select: DeviceSelect,
  request: CandidateRequest,
  rows: RowState[],
  prompts: readonly (readonly number[])[],
  params: GenerationParams,
  o: { eos: ReadonlySet<number>; stop: ReadonlySet<number> },
): Promise<boolean> {
  const B = rows.length;
  const { candidates } = await select.prefill(prompts, request);
  for (let b = 0; b < B; b++) {
    const id = sampleFromCandidates(candidates[b], rows[b].tokens, params, NO_DRAWS);
    if (id === null) return false;
    append(rows[b], id, 0, params, o);
  }
  // Each row's last token: the next fed one (a finished row's too, so that its log-prob comes).
  const last = () => rows.map((r) => r.tokens[r.tokens.length - 1]);
  const needsLogprob = (r: RowState) => r.tokens.length - r.promptLength > r.logprobs.length;
  for (let generated = 1; rows.some((r) => r.finish === null);) {
    const steps = Math.min(GREEDY_CHUNK_STEPS, params.maxNewTokens - generated);
    const out = await select.greedy!(last(), steps, request);
    for (let j = 0; j < steps; j++) {
      for (let b = 0; b < B; b++) {
        const row = rows[b];
        if (needsLogprob(row)) row.logprobs.push(out.logprobs[j * B + b]);
        if (row.finish !== null) continue;
        if (out.nan[j * B + b]) return false;
        append(row, out.tokens[j * B + b], generated + j, params, o);
      }
    }
    generated += steps;
  }
  if (rows.some(needsLogprob)) {
    const lp = await select.logprobs(last());
    rows.forEach((r, b) => {
      if (needsLogprob(r)) r.logprobs.push(lp[b]);
    });
  }
  return true;
}

/** Rollouts per GRPO group in the reference (`ROLLOUTS_PER_PROBLEM`). */
export const GRPO_GROUP_SIZE = 16;

/**
 * A GRPO group: `groupSize` completions of one prompt in one batch (backends share the prompt's
 * prefill between rows).
 *
 * @param model Any backend.
 * @param prompt The shared prompt.
 * @param options As {@link generate}.
 * @param rng The seeded uniform source.
 * @param groupSize Rows (default 16).
 * @returns `groupSize` outputs.
 * @throws {RangeError} For a non-positive group size or invalid parameters.
 *
 * @example
 * ```ts
 * import { makeTinyModel } from "./tiny.ts";
 * import { loadCpuModel } from "./cpu_model.ts";
 * import { generateGroup } from "./generate.ts";
 * import { SeededRandom } from "./seeded_random.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "qwen2", seed: 4, vocabSize: 64, hiddenSize: 32 });
 * const model = await loadCpuModel(dir);
 * await Deno.remove(dir, { recursive: true });
 * const group = await generateGroup(model, [5, 6], { maxNewTokens: 3 }, new SeededRandom(1), 4);
 * if (group.length !== 4 || group.some((g) => g.promptLength !== 2)) throw new Error();
 * ```
 */
export function generateGroup(
  model: Model,
  prompt: readonly number[],
  options: GenerateOptions,
  rng: UniformSource,
  groupSize: number = GRPO_GROUP_SIZE,
): Promise<GenerationOutput[]> {
  if (!Number.isInteger(groupSize) || groupSize < 1) {
    return Promise.reject(
      new RangeError(`Invalid groupSize: got ${groupSize}, expected a positive integer`),
    );
  }
  return generate(model, new Array(groupSize).fill(prompt), options, rng);
}
