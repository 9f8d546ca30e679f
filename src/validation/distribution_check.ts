/**
 * The token-distribution check (soft, protocol spec §5.9): the chosen-token probabilities of a
 * completion must look like sampling from the claimed model — not clustered low, no near-zero
 * token, no low 10 % quantile overall or in the first 50 steps.
 *
 * @module
 */

import { median, quantileLinear } from "./_python_math.ts";
import {
  SAMPLING_HIGH_P,
  SAMPLING_INITIAL_WINDOW_STEPS,
  SAMPLING_LOW_P,
  SAMPLING_LOW_Q10_MAX,
  SAMPLING_MEDIAN_LOW_MAX,
  SAMPLING_MIN_STEPS,
  SAMPLING_MIN_TOKEN_PROB,
} from "./constants.ts";

/** Distribution statistics, as the reference computes them with NumPy (float64). */
export interface DistributionMetrics {
  /** Mean. */
  mean: number;
  /** `numpy.median`. */
  median: number;
  /** `numpy.quantile(x, 0.10)` (linear). */
  q10: number;
  /** Minimum. */
  min: number;
  /** Fraction ≤ 0.10 (logged only). */
  lowFrac: number;
  /** Fraction ≥ 0.90 (logged only). */
  highFrac: number;
  /** `max(0, 1 − low − high)` (logged only). */
  midFrac: number;
  /** Bimodality coefficient (logged only). */
  bc: number;
}

function mean(xs: readonly number[]): number {
  // NumPy's pairwise summation is not reproduced: mean/bc are logged, never gate.
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * The statistics of a list of probabilities.
 *
 * @param probs Chosen-token probabilities (non-empty).
 * @returns The metrics.
 * @throws {RangeError} If `probs` is empty.
 *
 * @example
 * ```ts
 * import { distributionMetrics } from "./distribution_check.ts";
 * const m = distributionMetrics([0.5, 0.5, 1.0]);
 * if (m.median !== 0.5 || m.min !== 0.5) throw new Error();
 * ```
 */
export function distributionMetrics(probs: readonly number[]): DistributionMetrics {
  if (probs.length === 0) throw new RangeError("Distribution metrics need at least one value");
  const m = mean(probs);
  const lowFrac = probs.filter((p) => p <= SAMPLING_LOW_P).length / probs.length;
  const highFrac = probs.filter((p) => p >= SAMPLING_HIGH_P).length / probs.length;
  const d = probs.map((p) => p - m);
  const variance = mean(d.map((x) => x * x));
  let bc = 0;
  if (variance > 1e-12) {
    const m3 = mean(d.map((x) => x ** 3));
    const m4 = mean(d.map((x) => x ** 4));
    const skew = m3 / (variance ** 1.5 + 1e-12);
    const kurt = m4 / (variance ** 2 + 1e-12);
    bc = (skew * skew + 1.0) / Math.max(kurt, 1e-6);
  }
  return {
    mean: m,
    median: median(probs),
    q10: quantileLinear(probs, 0.10),
    min: probs.reduce((a, b) => Math.min(a, b)),
    lowFrac,
    highFrac,
    midFrac: Math.max(0, 1 - lowFrac - highFrac),
    bc,
  };
}

/** Which rules flagged a completion. */
export interface DistributionReasons {
  /** Median ≤ 0.30. */
  median_low: boolean;
  /** Minimum ≤ 1e-5. */
  min_low: boolean;
  /** 10 % quantile ≤ 0.025. */
  q10_low: boolean;
  /** 10 % quantile of the first 50 values ≤ 0.025. */
  q10_low_initial: boolean;
}

/** Outcome of {@linkcode checkDistribution}. */
export type DistributionCheckResult =
  | { ok: false; suspicious: true; reasons: { insufficient: true } }
  | {
    ok: boolean;
    suspicious: boolean;
    reasons: DistributionReasons;
    metrics: DistributionMetrics;
    initialMetrics: DistributionMetrics;
  };

/**
 * The distribution rule: fewer than 30 values fail as insufficient; otherwise suspicious (=
 * fail) if any of the four reasons holds.
 *
 * @param probs Chosen-token probabilities over the completion, in order.
 * @returns Verdict, reasons and metrics.
 *
 * @example
 * ```ts
 * import { checkDistribution } from "./distribution_check.ts";
 * if (checkDistribution(new Array(40).fill(0.9)).suspicious) throw new Error();
 * if (!checkDistribution(new Array(40).fill(0.2)).suspicious) throw new Error();
 * ```
 */
export function checkDistribution(probs: readonly number[]): DistributionCheckResult {
  if (probs.length < SAMPLING_MIN_STEPS) {
    return { ok: false, suspicious: true, reasons: { insufficient: true } };
  }
  const metrics = distributionMetrics(probs);
  const initialMetrics = distributionMetrics(
    probs.slice(0, Math.min(SAMPLING_INITIAL_WINDOW_STEPS, probs.length)),
  );
  const reasons: DistributionReasons = {
    median_low: metrics.median <= SAMPLING_MEDIAN_LOW_MAX,
    min_low: metrics.min <= SAMPLING_MIN_TOKEN_PROB,
    q10_low: metrics.q10 <= SAMPLING_LOW_Q10_MAX,
    q10_low_initial: initialMetrics.q10 <= SAMPLING_LOW_Q10_MAX,
  };
  const suspicious = Object.values(reasons).some((r) => r);
  return { ok: !suspicious, suspicious, reasons, metrics, initialMetrics };
}

/** Sampling parameters that shape the probabilities (checkpoint `generation_params`). */
export interface ChosenProbabilityParams {
  /** Temperature; 1.0 leaves logits unchanged. */
  temperature: number;
  /** HF repetition penalty; 1.0 leaves logits unchanged. */
  repetitionPenalty: number;
}

/**
 * The probability of each chosen completion token under the drift-safe part of HF's sampling
 * pipeline: repetition penalty over all previous tokens (`score < 0 ? score·rep : score/rep`,
 * float32), then division by the temperature (float32), then softmax. Top-k/top-p are
 * deliberately not applied, as in the reference.
 *
 * @param logitsAt Returns the float32 logits row predicting position t (i.e. `logits[t−1]`), or
 *   `undefined` when that row is not available (the position is then skipped, as in the
 *   reference).
 * @param tokens The full sequence.
 * @param promptLength `prompt_length`.
 * @param completionLength `completion_length`.
 * @param params Temperature and repetition penalty.
 * @returns One probability per completion position that has logits.
 *
 * @example
 * ```ts
 * import { chosenTokenProbabilities } from "./distribution_check.ts";
 * const rows = [new Float32Array([0, 0]), new Float32Array([0, 0])];
 * const p = chosenTokenProbabilities((t) => rows[t - 1], [0, 1, 1], 1, 2, {
 *   temperature: 1, repetitionPenalty: 1,
 * });
 * if (p.length !== 2 || p[0] !== 0.5) throw new Error();
 * ```
 */
export function chosenTokenProbabilities(
  logitsAt: (t: number) => ArrayLike<number> | undefined,
  tokens: readonly number[],
  promptLength: number,
  completionLength: number,
  params: ChosenProbabilityParams,
): number[] {
  const out: number[] = [];
  const end = Math.min(promptLength + completionLength, tokens.length);
  const seen = new Set<number>();
  for (let t = 0; t < promptLength && t < tokens.length; t++) seen.add(tokens[t]);
  for (let t = promptLength; t < end; t++) {
    if (t > 0) seen.add(tokens[t - 1]);
    if (t === 0) continue;
    const row = logitsAt(t);
    if (row === undefined) continue;
    const scores = Float32Array.from(row);
    if (params.repetitionPenalty !== 1.0) {
      const rep = Math.fround(params.repetitionPenalty);
      for (const id of seen) {
        if (id < 0 || id >= scores.length) continue;
        const s = scores[id];
        scores[id] = s < 0 ? s * rep : s / rep;
      }
    }
    if (params.temperature !== 1.0) {
      const temp = Math.fround(params.temperature);
      for (let i = 0; i < scores.length; i++) scores[i] = scores[i] / temp;
    }
    let max = -Infinity;
    for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
    let sum = 0;
    for (let i = 0; i < scores.length; i++) sum += Math.exp(scores[i] - max);
    out.push(Math.exp(scores[tokens[t]] - max) / sum);
  }
  return out;
}
