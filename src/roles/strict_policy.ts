/**
 * The strict verification rules that replace v5's weak ones (protocol spec §9.1, §9.2), and the
 * numbers behind them. docs/verification.md derives every constant from measured honest drift.
 *
 * Shapes: T positions of a rollout, C hidden size.
 *
 * @module
 */

import { PRIME_Q } from "../protocol/constants.ts";
import { sketches } from "../protocol/sketch.ts";

/** The strict thresholds. */
export interface StrictPolicy {
  /** Largest modular sketch distance allowed at any position. */
  sketchMaxDistance: number;
  /** Least fraction of positions whose sketch must match exactly. */
  sketchMinExactFraction: number;
  /** Largest |log p_validator − log p_miner| allowed at any completion position (nats). */
  logprobMaxAbsDiff: number;
  /** Largest median of exp(|Δ log p|) − 1 over the completion (the v5 rule, on every position). */
  logprobMaxMedianDeviation: number;
}

/**
 * Defaults measured on the fixture models (f32 validator vs the reference's bf16-CUDA miner):
 * max sketch distance 736 → cap 1500 (×2); least exact-match fraction over a completion 0.74 → 0.4;
 * max |Δ log p| 0.044 → 0.5 nats; median deviation kept at v5's 0.10.
 */
export const STRICT_POLICY: Readonly<StrictPolicy> = Object.freeze({
  sketchMaxDistance: 1500,
  sketchMinExactFraction: 0.4,
  logprobMaxAbsDiff: 0.5,
  logprobMaxMedianDeviation: 0.10,
});

/** Outcome of {@linkcode checkSketchesStrict}. */
export interface StrictSketchResult {
  /** Both rules hold. */
  ok: boolean;
  /** Positions counted for the exact-match fraction (`from` … T−1). */
  positions: number;
  /** Of those, positions with distance 0. */
  exact: number;
  /** Largest modular distance seen. */
  maxDistance: number;
  /** First rule broken, when one is. */
  reason?: "distance" | "exact_fraction" | "shape";
}

/**
 * Compares the miner's sketch at every position with the validator's: every distance must stay
 * within the cap, and enough positions from `from` on (the completion: the prompt is public and
 * cheap to prove honestly) must match exactly. Honest drift flips a bucket or a top-k member at a
 * minority of positions; an all-zero, constant or other-model commitment matches almost nowhere.
 *
 * @param hidden [T*C] validator hidden states.
 * @param hiddenSize C.
 * @param minerSketches The miner's T sketches.
 * @param coeffs The 16 sketch coefficients.
 * @param from First position counted for the exact-match fraction (the prompt length).
 * @param policy Thresholds (default {@linkcode STRICT_POLICY}).
 * @returns The verdict and its statistics.
 *
 * @example
 * ```ts
 * import { checkSketchesStrict } from "./strict_policy.ts";
 * import { sketches } from "../protocol/sketch.ts";
 * const hidden = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 9);
 * const coeffs = Int8Array.from({ length: 16 }, (_, i) => i * 7 - 50);
 * const honest = Array.from(sketches(hidden, 32, coeffs));
 * if (!checkSketchesStrict(hidden, 32, honest, coeffs).ok) throw new Error();
 * if (checkSketchesStrict(hidden, 32, [0, 0], coeffs).ok) throw new Error();
 * ```
 */
export function checkSketchesStrict(
  hidden: Float32Array,
  hiddenSize: number,
  minerSketches: readonly number[],
  coeffs: Int8Array,
  from: number = 0,
  policy: StrictPolicy = STRICT_POLICY,
): StrictSketchResult {
  const mine = sketches(hidden, hiddenSize, coeffs);
  const T = mine.length;
  if (minerSketches.length !== T || !Number.isInteger(from) || from < 0 || from >= T) {
    return { ok: false, positions: T, exact: 0, maxDistance: NaN, reason: "shape" };
  }
  let exact = 0;
  let maxDistance = 0;
  for (let p = 0; p < T; p++) {
    const s = minerSketches[p];
    if (!Number.isInteger(s) || s < 0 || s >= PRIME_Q) {
      return { ok: false, positions: T, exact, maxDistance: Infinity, reason: "distance" };
    }
    const d = Math.abs(mine[p] - s);
    const dist = Math.min(d, PRIME_Q - d);
    if (dist === 0 && p >= from) exact++;
    if (dist > maxDistance) maxDistance = dist;
  }
  const base = { positions: T - from, exact, maxDistance };
  if (maxDistance > policy.sketchMaxDistance) return { ok: false, ...base, reason: "distance" };
  if (exact < policy.sketchMinExactFraction * (T - from)) {
    return { ok: false, ...base, reason: "exact_fraction" };
  }
  return { ok: true, ...base };
}

/** Outcome of {@linkcode checkLogprobsStrict}. */
export interface StrictLogprobResult {
  /** Both rules hold. */
  ok: boolean;
  /** Largest |Δ log p| over the completion. */
  maxAbsDiff: number;
  /** Median of exp(|Δ|) − 1 over the completion. */
  medianDeviation: number;
  /** First rule broken, when one is. */
  reason?: "max_diff" | "median" | "shape";
}

/**
 * Compares the miner's log-probs with the validator's at every completion position (v5 looks at
 * 32 and takes a median, so a few forged values pass).
 *
 * @param nextTokenLogprobs [T−1] validator log p(tokens[t+1] | ..t).
 * @param minerLogprobs The rollout's `token_logprobs` (T entries).
 * @param promptLength `prompt_length`.
 * @param policy Thresholds (default {@linkcode STRICT_POLICY}).
 * @returns The verdict and its statistics.
 *
 * @example
 * ```ts
 * import { checkLogprobsStrict } from "./strict_policy.ts";
 * const model = Float32Array.of(-1, -2, -3);
 * if (!checkLogprobsStrict(model, [0, -1, -2, -3], 1).ok) throw new Error();
 * if (checkLogprobsStrict(model, [0, -1, -2, -0.5], 1).ok) throw new Error();
 * ```
 */
export function checkLogprobsStrict(
  nextTokenLogprobs: Float32Array,
  minerLogprobs: readonly number[],
  promptLength: number,
  policy: StrictPolicy = STRICT_POLICY,
): StrictLogprobResult {
  const T = nextTokenLogprobs.length + 1;
  if (minerLogprobs.length !== T || promptLength < 1 || promptLength >= T) {
    return { ok: false, maxAbsDiff: NaN, medianDeviation: NaN, reason: "shape" };
  }
  const devs: number[] = [];
  let maxAbsDiff = 0;
  for (let q = promptLength; q < T; q++) {
    const diff = Math.abs(nextTokenLogprobs[q - 1] - minerLogprobs[q]);
    // NaN (a non-number in the file) must fail, so compare with !(≤).
    if (!(diff <= maxAbsDiff)) maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
    devs.push(Math.exp(diff) - 1);
  }
  devs.sort((a, b) => a - b);
  const n = devs.length;
  const medianDeviation = n % 2 === 1 ? devs[(n - 1) / 2] : (devs[n / 2 - 1] + devs[n / 2]) / 2;
  if (maxAbsDiff > policy.logprobMaxAbsDiff) {
    return { ok: false, maxAbsDiff, medianDeviation, reason: "max_diff" };
  }
  if (!(medianDeviation <= policy.logprobMaxMedianDeviation)) {
    return { ok: false, maxAbsDiff, medianDeviation, reason: "median" };
  }
  return { ok: true, maxAbsDiff, medianDeviation };
}
