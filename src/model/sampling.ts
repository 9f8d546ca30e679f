/**
 * Next-token sampling with Hugging Face's logits processors, applied in `generate()`'s order:
 * repetition penalty, then temperature, top-k and top-p, then a draw from the softmax. Scores are
 * float32 as in HF; the softmax and the draw use float64. Randomness comes only from the
 * {@link UniformSource} passed in, one `random()` call per sampled token (none for greedy).
 *
 * Defaults are the reference's (infra spec §4.6 metadata, envs spec §1.6): see
 * {@link PROTOCOL_GENERATION_DEFAULTS} and {@link ENV_LOOP_GENERATION_DEFAULTS}.
 *
 * @module
 */

import type { UniformSource } from "./seeded_random.ts";

export type { UniformSource } from "./seeded_random.ts";

/** How one token is chosen from a logits row. */
export interface SamplingParams {
  /** Divides the scores (HF skips it at 1.0); must be > 0 unless greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 disables it. */
  topP: number;
  /** Keep the k highest scores (ties at the k-th kept, as HF); 0 disables it. */
  topK: number;
  /** HF repetition penalty over the distinct ids seen so far (prompt included); 1 disables it. */
  repetitionPenalty: number;
  /** Argmax after the repetition penalty (HF `do_sample=False`); lowest id wins ties. */
  greedy?: boolean;
  /**
   * Ids at or above this are never chosen (as if their logits were -Infinity). For embedding
   * rows past the tokenizer's vocabulary (Qwen3: 151,936 rows, 151,669 tokens), which a random
   * test model would otherwise sample; trained models give them negligible mass. Default: none.
   */
  vocabLimit?: number;
}

/** Generation parameters: sampling plus a budget. */
export interface GenerationParams extends SamplingParams {
  /** Most tokens to generate per row (EOS/stop token included). */
  maxNewTokens: number;
}

/** The reference protocol's hard cap on completion length (protocol spec §0). */
export const MAX_NEW_TOKENS_PROTOCOL_CAP = 8192;

/**
 * What the reference trainer publishes in checkpoint metadata by default (`GRAIL_GEN_*`, infra
 * spec §4.6/§7): max_tokens 2048, temperature 0.7, top_p 0.9, top_k 50, repetition_penalty 1.0.
 * On the protocol path miners use the checkpoint's `generation_params`; these are its defaults.
 */
export const PROTOCOL_GENERATION_DEFAULTS: Readonly<GenerationParams> = Object.freeze({
  maxNewTokens: 2048,
  temperature: 0.7,
  topP: 0.9,
  topK: 50,
  repetitionPenalty: 1.0,
});

/**
 * The reference episode loop's defaults when no checkpoint overrides them (envs spec §1.6):
 * T 0.6, top_p 0.95, top_k 20, repetition_penalty 1.1, max_new_tokens 8192.
 */
export const ENV_LOOP_GENERATION_DEFAULTS: Readonly<GenerationParams> = Object.freeze({
  maxNewTokens: 8192,
  temperature: 0.6,
  topP: 0.95,
  topK: 20,
  repetitionPenalty: 1.1,
});

/**
 * Generation parameters from a checkpoint's `generation_params` metadata, with the miner's
 * checks (infra spec §4.6): all five keys present, max_tokens > 0 (capped at 8192), temperature
 * in [0.01, 2], top_p in [0, 1], top_k an integer in [0, 1000] (0 = no top-k), repetition_penalty
 * in [1, 2].
 *
 * @param value The parsed `generation_params` object.
 * @returns Parameters for `generate()`.
 * @throws {RangeError} Naming the field, value and allowed range.
 *
 * @example
 * ```ts
 * import { generationParamsFromMetadata } from "./sampling.ts";
 * const p = generationParamsFromMetadata({
 *   max_tokens: 10000, temperature: 0.7, top_p: 0.9, top_k: 50, repetition_penalty: 1.0,
 * });
 * if (p.maxNewTokens !== 8192 || p.topK !== 50) throw new Error();
 * ```
 */
export function generationParamsFromMetadata(value: unknown): GenerationParams {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RangeError(
      `Invalid generation_params: got ${JSON.stringify(value)}, expected an object`,
    );
  }
  const v = value as Record<string, unknown>;
  const num = (key: string, lo: number, hi: number, integer = false): number => {
    const x = v[key];
    if (typeof x !== "number" || !(x >= lo && x <= hi) || (integer && !Number.isInteger(x))) {
      throw new RangeError(
        `Invalid generation_params.${key}: got ${JSON.stringify(x)}, expected ${
          integer ? "an integer" : "a number"
        } in [${lo}, ${hi}]`,
      );
    }
    return x;
  };
  const maxTokens = num("max_tokens", 1, Number.MAX_SAFE_INTEGER, true);
  return {
    maxNewTokens: Math.min(maxTokens, MAX_NEW_TOKENS_PROTOCOL_CAP),
    temperature: num("temperature", 0.01, 2),
    topP: num("top_p", 0, 1),
    topK: num("top_k", 0, 1000, true),
    repetitionPenalty: num("repetition_penalty", 1, 2),
  };
}

/**
 * Checks sampling parameters.
 *
 * @param p The parameters.
 * @throws {RangeError} Naming the bad field and value.
 */
export function checkSamplingParams(p: SamplingParams): void {
  if (!p.greedy && !(p.temperature > 0 && Number.isFinite(p.temperature))) {
    throw new RangeError(
      `Invalid temperature: got ${p.temperature}, expected > 0 (or set greedy: true)`,
    );
  }
  if (!(p.topP > 0 && p.topP <= 1)) {
    throw new RangeError(`Invalid topP: got ${p.topP}, expected a number in (0, 1]`);
  }
  if (!Number.isInteger(p.topK) || p.topK < 0) {
    throw new RangeError(`Invalid topK: got ${p.topK}, expected a non-negative integer (0 = off)`);
  }
  if (p.vocabLimit !== undefined && !(Number.isInteger(p.vocabLimit) && p.vocabLimit > 0)) {
    throw new RangeError(`Invalid vocabLimit: got ${p.vocabLimit}, expected a positive integer`);
  }
  if (!(p.repetitionPenalty > 0 && Number.isFinite(p.repetitionPenalty))) {
    throw new RangeError(`Invalid repetitionPenalty: got ${p.repetitionPenalty}, expected > 0`);
  }
}

/**
 * HF `RepetitionPenaltyLogitsProcessor`, in place: for each distinct previous id, a negative
 * score is multiplied by the penalty and a positive one divided by it (float32).
 *
 * @param scores One logits row (modified).
 * @param previous Ids seen so far (prompt and generated).
 * @param penalty The penalty (1 leaves scores unchanged).
 *
 * @example
 * ```ts
 * import { applyRepetitionPenalty } from "./sampling.ts";
 * const s = new Float32Array([2, -2, 2]);
 * applyRepetitionPenalty(s, [0, 1, 1], 2);
 * if (s[0] !== 1 || s[1] !== -4 || s[2] !== 2) throw new Error();
 * ```
 */
export function applyRepetitionPenalty(
  scores: Float32Array,
  previous: readonly number[],
  penalty: number,
): void {
  if (penalty === 1) return;
  const seen = new Set(previous);
  for (const id of seen) {
    const s = scores[id];
    scores[id] = s < 0 ? s * penalty : s / penalty;
  }
}

/** A copy of the scores with ids ≥ vocabLimit set to -Infinity. */
function limited(logits: Float32Array, vocabLimit: number | undefined): Float32Array {
  const scores = Float32Array.from(logits);
  if (vocabLimit !== undefined) scores.fill(-Infinity, vocabLimit);
  return scores;
}

/** Index of the largest value; the lowest index among equals (as torch.argmax). */
function argmax(scores: Float32Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/**
 * Applies top-k and top-p to processed scores (after penalty and temperature) of some ids, the
 * one rule both {@link filteredCandidates} (a full row) and {@link sampleFromCandidates} (a few
 * candidates) run, so that the two agree bit for bit.
 *
 * @param ids Ids, ascending.
 * @param scores Their processed float32 scores.
 * @param p Sampling parameters.
 * @param outsideBound Every id not listed scores at most this; -Infinity when the list is the
 *   whole row.
 * @returns The kept ids ascending and their scores, or null when ids outside the list could
 *   change the outcome.
 */
function filterScores(
  ids: readonly number[],
  scores: Float32Array,
  p: SamplingParams,
  outsideBound: number,
): { ids: number[]; scores: number[] } | null {
  const complete = outsideBound === -Infinity;
  let kept: number[] = [];
  for (let i = 0; i < ids.length; i++) if (scores[i] > -Infinity) kept.push(i);
  if (p.topK > 0 && (p.topK < kept.length || !complete)) {
    if (kept.length < p.topK) return null;
    const kth = kept.map((i) => scores[i]).sort((a, b) => b - a)[p.topK - 1];
    // Ids outside score <= outsideBound; below the k-th they are cut whatever they are.
    if (!complete && !(kth > outsideBound)) return null;
    kept = kept.filter((i) => scores[i] >= kth);
  } else if (!complete) {
    return null; // top-p or plain sampling over the whole row needs every score
  }
  if (p.topP < 1 && kept.length > 1) {
    const asc = [...kept].sort((a, b) => scores[a] - scores[b] || ids[b] - ids[a]);
    const max = scores[asc[asc.length - 1]];
    let z = 0;
    for (const i of asc) z += Math.exp(scores[i] - max);
    const removed = new Set<number>();
    let cum = 0;
    for (let r = 0; r < asc.length - 1; r++) {
      cum += Math.exp(scores[asc[r]] - max) / z;
      if (cum <= 1 - p.topP) removed.add(asc[r]);
      else break; // cumulative mass only grows
    }
    kept = kept.filter((i) => !removed.has(i));
  }
  return { ids: kept.map((i) => ids[i]), scores: kept.map((i) => scores[i]) };
}

/**
 * The ids that survive temperature, top-k and top-p, with their float32 scores, before the
 * softmax. Exposed so tests can check the filter against HF's rules.
 *
 * - top-k: scores below the k-th largest are removed (ties with it are kept, as HF's
 *   `scores < topk(...)[-1]`).
 * - top-p: ascending by score (ties: higher id first), softmax, cumulative sum; ids whose
 *   cumulative mass is ≤ 1 − top_p are removed, the highest-scoring id always kept (HF's
 *   `TopPLogitsWarper` with min_tokens_to_keep 1).
 *
 * @param logits One logits row (not modified).
 * @param previous Ids seen so far, for the repetition penalty.
 * @param p Sampling parameters (greedy ignored).
 * @returns Kept ids ascending by id, and their processed scores.
 *
 * @example top-k 2 keeps the two best
 * ```ts
 * import { filteredCandidates } from "./sampling.ts";
 * const c = filteredCandidates(new Float32Array([0, 3, 1, 2]), [], {
 *   temperature: 1, topP: 1, topK: 2, repetitionPenalty: 1,
 * });
 * if (c.ids.join() !== "1,3") throw new Error();
 * ```
 */
export function filteredCandidates(
  logits: Float32Array,
  previous: readonly number[],
  p: SamplingParams,
): { ids: number[]; scores: number[] } {
  const scores = limited(logits, p.vocabLimit);
  applyRepetitionPenalty(scores, previous, p.repetitionPenalty);
  if (p.temperature !== 1) {
    for (let i = 0; i < scores.length; i++) scores[i] = scores[i] / p.temperature;
  }
  const ids = Array.from({ length: scores.length }, (_, i) => i);
  return filterScores(ids, scores, p, -Infinity)!;
}

/** Inverse CDF in ascending id order over the kept ids: one uniform draw decides. */
function draw(ids: readonly number[], scores: readonly number[], rng: UniformSource): number {
  if (ids.length === 0) throw new RangeError("Invalid logits: every score is -Infinity or NaN");
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  const weights = scores.map((s) => Math.exp(s - max));
  let z = 0;
  for (const w of weights) z += w;
  const u = rng.random() * z;
  let cum = 0;
  for (let i = 0; i < ids.length; i++) {
    cum += weights[i];
    if (u < cum) return ids[i];
  }
  return ids[ids.length - 1]; // u·z rounded up to z
}

/**
 * Chooses the next token from one logits row.
 *
 * @param logits One row of V raw logits.
 * @param previous Ids seen so far in this row (prompt and generated), for the repetition penalty.
 * @param params Sampling parameters.
 * @param rng Uniform source; one draw per call unless greedy.
 * @returns The chosen id.
 * @throws {RangeError} For invalid parameters.
 *
 * @example Greedy picks the argmax, lowest id on ties
 * ```ts
 * import { sampleToken } from "./sampling.ts";
 * import { SeededRandom } from "./seeded_random.ts";
 * const id = sampleToken(new Float32Array([1, 5, 5, 0]), [], {
 *   temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, greedy: true,
 * }, new SeededRandom(0));
 * if (id !== 1) throw new Error();
 * ```
 */
export function sampleToken(
  logits: Float32Array,
  previous: readonly number[],
  params: SamplingParams,
  rng: UniformSource,
): number {
  checkSamplingParams(params);
  if (params.greedy) {
    const scores = limited(logits, params.vocabLimit);
    applyRepetitionPenalty(scores, previous, params.repetitionPenalty);
    return argmax(scores);
  }
  const { ids, scores } = filteredCandidates(logits, previous, params);
  return draw(ids, scores, rng);
}

/**
 * What a backend returns for one logits row instead of the row: the M largest logits, a bound
 * on all the others and the logits of the row's previous ids. Enough for
 * {@link sampleFromCandidates} to choose the token {@link sampleToken} would choose from the full
 * row, or to say that it cannot.
 */
export interface RowCandidates {
  /** Ids of the M largest logits (ids ≥ the vocab limit and NaN ranked last), in any order. */
  ids: Uint32Array;
  /** Their raw logits (-Infinity for an excluded or NaN id). */
  logits: Float32Array;
  /**
   * The (M+1)-th largest logit: no id outside `ids` has a larger one, and an id outside with
   * exactly this logit has a higher id than every id in `ids` with it. -Infinity when only
   * excluded ids are left.
   */
  rho: number;
  /** Whether the row holds a NaN logit (the full row is then needed: NaN breaks argmax's order). */
  hasNaN: boolean;
  /** Ids whose raw logits were gathered (the row's distinct previous ids); empty unless asked. */
  seenIds: readonly number[];
  /** Their raw logits, aligned with `seenIds`. */
  seenLogits: Float32Array;
}

/**
 * u32 words per row of a candidates kernel's `top` output for M candidates (both GPU backends'
 * kernels write the same layout): M ids, M logits (f32 bits), rho, the count above rho, NaNs.
 *
 * @param m M.
 * @returns 2M + 3.
 * @example
 * ```ts
 * import { candidateRowWords } from "./sampling.ts";
 * if (candidateRowWords(8) !== 19) throw new Error();
 * ```
 */
export function candidateRowWords(m: number): number {
  return 2 * m + 3;
}

/**
 * Decodes one row of a candidates kernel's `top` output (layout: {@link candidateRowWords}).
 *
 * @param top The row's words (2M + 3).
 * @param m M.
 * @param seenIds The ids gathered for this row, in gather order.
 * @param gathered Their logits.
 * @returns The row's candidates.
 * @example Two candidates, rho 0.5, no NaN
 * ```ts
 * import { decodeCandidateRow } from "./sampling.ts";
 * const f = new Float32Array([0, 0, 2, 1, 0.5, 0, 0]);
 * const top = new Uint32Array(f.buffer);
 * top.set([4, 9], 0);
 * const c = decodeCandidateRow(top, 2, [], new Float32Array(0));
 * if (c.ids[1] !== 9 || c.logits[0] !== 2 || c.rho !== 0.5 || c.hasNaN) throw new Error();
 * ```
 */
export function decodeCandidateRow(
  top: Uint32Array,
  m: number,
  seenIds: readonly number[],
  gathered: Float32Array,
): RowCandidates {
  const bits = new Float32Array(top.buffer, top.byteOffset, top.length);
  return {
    ids: top.slice(0, m),
    logits: bits.slice(m, 2 * m),
    rho: bits[2 * m],
    hasNaN: top[2 * m + 2] !== 0,
    seenIds,
    seenLogits: gathered,
  };
}

/** What {@link sampleFromCandidates} needs from a backend for given sampling parameters. */
export interface CandidateRequest {
  /** M: how many of the largest logits per row. */
  topM: number;
  /** Ids at or above this rank last (the parameters' vocabLimit); undefined: none. */
  vocabLimit?: number;
  /** Whether to gather the logits of each row's previous ids (repetition penalty ≠ 1). */
  gatherSeen: boolean;
}

/** Candidates beyond top-k kept so that float32 ties after the temperature rarely undecide a row. */
const CANDIDATE_SLACK = 16;
/** M for greedy decoding. */
const GREEDY_CANDIDATES = 8;

/**
 * The candidates request for these parameters, or null when only full rows can decide (sampling
 * without top-k: top-p or the plain softmax needs every score).
 *
 * @param params Sampling parameters.
 * @param vocabSize V.
 * @returns The request, or null.
 *
 * @example
 * ```ts
 * import { candidateRequest } from "./sampling.ts";
 * const r = candidateRequest({ temperature: 0.7, topP: 0.9, topK: 50, repetitionPenalty: 1 }, 1000);
 * if (r === null || r.topM < 50 || r.gatherSeen) throw new Error();
 * if (candidateRequest({ temperature: 1, topP: 0.9, topK: 0, repetitionPenalty: 1 }, 1000) !== null) throw new Error();
 * ```
 */
export function candidateRequest(
  params: SamplingParams,
  vocabSize: number,
): CandidateRequest | null {
  checkSamplingParams(params);
  if (!params.greedy && params.topK === 0) return null;
  const want = params.greedy ? GREEDY_CANDIDATES : params.topK + CANDIDATE_SLACK;
  const topM = Math.min(want, vocabSize - 1);
  if (topM < 1) return null;
  return { topM, vocabLimit: params.vocabLimit, gatherSeen: params.repetitionPenalty !== 1 };
}

/**
 * Chooses the next token from a row's candidates exactly as {@link sampleToken} would from the
 * full row (same filters, same float32 scores, same draw), or returns null, without drawing,
 * when the candidates cannot prove the outcome (then pass the full row to `sampleToken`).
 *
 * Why it is exact: ids outside the candidates are not previous ids, so they keep their raw
 * logit ≤ rho and, after the temperature, score ≤ fround(rho / T). Greedy: a best candidate
 * above that bound (or equal to it, when an unpenalized candidate with a lower id holds it) is
 * the full row's argmax. Top-k: when the k-th best candidate scores above the bound, the full
 * row's k-th score is the same, and top-p and the draw only look at the ids top-k keeps.
 *
 * @param c The row's candidates (with `seenIds` when the repetition penalty is on).
 * @param previous Ids seen so far in this row, as for `sampleToken`.
 * @param params Sampling parameters.
 * @param rng Uniform source; one draw when a token is returned and not greedy, none otherwise.
 * @returns The chosen id, or null.
 * @throws {RangeError} For invalid parameters, or a previous id the candidates lack.
 *
 * @example The best of three candidates, the rest of the row below rho
 * ```ts
 * import { sampleFromCandidates } from "./sampling.ts";
 * import { SeededRandom } from "./seeded_random.ts";
 * const id = sampleFromCandidates({
 *   ids: new Uint32Array([7, 3, 9]), logits: new Float32Array([2, 5, 1]), rho: 0.5,
 *   hasNaN: false, seenIds: [], seenLogits: new Float32Array(0),
 * }, [], { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, greedy: true }, new SeededRandom(0));
 * if (id !== 3) throw new Error();
 * ```
 */
export function sampleFromCandidates(
  c: RowCandidates,
  previous: readonly number[],
  params: SamplingParams,
  rng: UniformSource,
): number | null {
  checkSamplingParams(params);
  if (c.hasNaN || Number.isNaN(c.rho)) return null;
  const penalty = params.repetitionPenalty;
  const raw = new Map<number, number>();
  for (let i = 0; i < c.ids.length; i++) raw.set(c.ids[i], c.logits[i]);
  const seen = penalty === 1 ? null : new Set(previous);
  if (seen) {
    c.seenIds.forEach((id, j) => raw.set(id, c.seenLogits[j]));
    for (const id of seen) {
      if (!raw.has(id)) {
        throw new RangeError(
          `Invalid candidates: previous id ${id} has no gathered logit; request gatherSeen`,
        );
      }
    }
  }
  const ids = [...raw.keys()].sort((a, b) => a - b);
  const scores = new Float32Array(ids.length);
  const limit = params.vocabLimit;
  ids.forEach((id, i) => {
    scores[i] = limit !== undefined && id >= limit ? -Infinity : raw.get(id)!;
  });
  if (scores.some(Number.isNaN)) return null;
  if (seen) {
    ids.forEach((id, i) => {
      if (seen.has(id)) scores[i] = scores[i] < 0 ? scores[i] * penalty : scores[i] / penalty;
    });
  }
  if (params.greedy) {
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
    if (scores[best] > c.rho) return ids[best];
    // Outside ids holding rho rank after every candidate holding it unpenalized.
    const fromTop = new Set(c.ids);
    const heldUnpenalized = ids.some((id, i) =>
      fromTop.has(id) && raw.get(id) === c.rho && scores[i] === c.rho &&
      (seen === null || !seen.has(id))
    );
    return scores[best] === c.rho && heldUnpenalized && c.rho > -Infinity ? ids[best] : null;
  }
  let bound = c.rho;
  if (params.temperature !== 1) {
    for (let i = 0; i < scores.length; i++) scores[i] = scores[i] / params.temperature;
    bound = Math.fround(bound / params.temperature);
  }
  const kept = filterScores(ids, scores, params, bound);
  if (kept === null) return null;
  return draw(kept.ids, kept.scores, rng);
}
