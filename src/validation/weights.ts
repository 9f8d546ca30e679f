/**
 * Float weights from the rolling window metrics, with the burn to UID 0 (protocol spec §6,
 * `grail/scoring/weights.py`). The u16 conversion for the chain is `src/net/weights_u16.ts`.
 *
 * @module
 */

import { fsum } from "./_python_math.ts";
import {
  GRAIL_BURN_PERCENTAGE,
  GRAIL_BURN_UID,
  SUPERLINEAR_EXPONENT,
  UNIQUE_ROLLOUTS_CAP,
  WEIGHT_ROLLING_WINDOWS,
  WINDOW_LENGTH,
} from "./constants.ts";

/** The metrics a window contributes to scoring. */
export interface ScoredWindowMetrics {
  /** Extrapolated unique rollouts. */
  estimated_unique?: number;
  /** 1 when the miner failed the window. */
  had_failure?: number;
}

/** Inputs of {@linkcode computeWeights}. */
export interface WeightInputs {
  /** Metagraph hotkeys, in metagraph order. */
  hotkeys: readonly string[];
  /** Metagraph uids, aligned with `hotkeys`. */
  uids: readonly number[];
  /** hotkey → window start → metrics. */
  inferenceCounts: ReadonlyMap<string, ReadonlyMap<number, ScoredWindowMetrics>>;
  /** The last processed window. */
  targetWindow: number;
  /** hotkey → windows with a file among the last 12 processed. */
  availability: ReadonlyMap<string, number>;
}

/** Scoring parameters; defaults are the reference's. */
export interface WeightOptions {
  /** Windows in the scoring range (12). */
  rollingWindows?: number;
  /** Blocks per window (30). */
  windowLength?: number;
  /** Score exponent (4). */
  exponent?: number;
  /** Burn UID (0); null disables the burn (the reference then refuses: see @throws). */
  burnUid?: number | null;
  /** Burn percentage (90). */
  burnPercentage?: number;
  /** Cap unique rollouts at 5000 per window (true). */
  capEnabled?: boolean;
}

/** Outcome of {@linkcode computeWeights}. */
export interface WeightResult {
  /** One weight per metagraph entry, summing to 1 when the burn applies. */
  weights: number[];
  /** `(hotkey, weight)` of miners that scored plus the burn UID, where the weight is > 0. */
  nonZero: [string, number][];
  /** Σ cap-relative scores before normalisation (< 1 means underproduction burns the rest). */
  totalCapRelative: number;
}

/**
 * The reference's `WeightComputer.compute_weights`: per hotkey, zero if never available, if
 * any recent window failed, or if never checked; else `U = Σ estimated_unique × available /
 * checked`, capped at 60,000, score `U⁴ / 60000⁴`; normalise if the sum exceeds 1; then the
 * burn: miners share `min(0.1, 0.1 · Σ)` in proportion, UID 0 gets `1 − fsum(miners)`.
 *
 * @param inputs Metagraph, metrics, target window, availability.
 * @param options Scoring parameters.
 * @returns Weights aligned with the metagraph.
 * @throws {RangeError} If hotkeys and uids differ in length, or the burn is disabled
 *   (the reference requires a burn UID and a positive percentage).
 *
 * @example Nobody produced: everything burns
 * ```ts
 * import { computeWeights } from "./weights.ts";
 * const r = computeWeights({
 *   hotkeys: ["owner", "m1"], uids: [0, 1], inferenceCounts: new Map(),
 *   targetWindow: 3600, availability: new Map(),
 * });
 * if (r.weights[0] !== 1 || r.weights[1] !== 0) throw new Error();
 * ```
 */
export function computeWeights(inputs: WeightInputs, options: WeightOptions = {}): WeightResult {
  const { hotkeys, uids } = inputs;
  if (hotkeys.length !== uids.length) {
    throw new RangeError(
      `Metagraph hotkeys (${hotkeys.length}) and uids (${uids.length}) must have the same length`,
    );
  }
  const rolling = options.rollingWindows ?? WEIGHT_ROLLING_WINDOWS;
  const length = options.windowLength ?? WINDOW_LENGTH;
  const exponent = options.exponent ?? SUPERLINEAR_EXPONENT;
  const capEnabled = options.capEnabled ?? true;
  const burnUid = options.burnUid === undefined ? GRAIL_BURN_UID : options.burnUid;
  const burnPercentage = options.burnPercentage ?? GRAIL_BURN_PERCENTAGE;

  // Python range(max(0, T - (n-1)·len), T + 1, len).
  const recent: number[] = [];
  for (
    let w = Math.max(0, inputs.targetWindow - (rolling - 1) * length);
    w <= inputs.targetWindow;
    w += length
  ) {
    recent.push(w);
  }
  const periodCap = UNIQUE_ROLLOUTS_CAP * rolling;

  const raw = hotkeys.map((hk) => {
    const active = inputs.availability.get(hk) ?? 0;
    if (active === 0) return 0.0;
    const perWindow = inputs.inferenceCounts.get(hk) ?? new Map<number, ScoredWindowMetrics>();
    if (recent.some((w) => (perWindow.get(w)?.had_failure ?? 0) === 1)) return 0.0;
    const checked = recent.filter((w) => perWindow.has(w));
    if (checked.length === 0) return 0.0;
    let total = 0;
    for (const w of checked) total += perWindow.get(w)!.estimated_unique ?? 0;
    const extrapolated = total * (active / checked.length);
    const capped = capEnabled ? Math.min(extrapolated, periodCap) : extrapolated;
    return Math.max(0.0, capped) ** exponent;
  });

  let capRelative: number[];
  let totalCapRelative: number;
  if (capEnabled) {
    const maxScore = periodCap ** exponent;
    capRelative = raw.map((s) => s / maxScore);
    totalCapRelative = fsum(capRelative);
  } else {
    const totalRaw = fsum(raw);
    capRelative = totalRaw > 0 ? raw.map((s) => s / totalRaw) : raw.map(() => 0.0);
    totalCapRelative = 1.0;
  }
  const preBurn = totalCapRelative > 1.0
    ? capRelative.map((c) => c / totalCapRelative)
    : capRelative;
  const preBurnNonZero = preBurn.flatMap((w, i) => (w > 0 ? [i] : []));

  const weights = applyBurn(preBurn, uids, totalCapRelative, burnUid, burnPercentage);

  const burnIndex = burnUid === null ? -1 : uids.indexOf(burnUid);
  const allowed = new Set(preBurnNonZero);
  if (burnIndex >= 0) allowed.add(burnIndex);
  const nonZero: [string, number][] = [...allowed]
    .filter((i) => weights[i] > 0)
    .map((i) => [hotkeys[i], weights[i]]);
  return { weights, nonZero, totalCapRelative };
}

function applyBurn(
  preBurn: readonly number[],
  uids: readonly number[],
  totalCapRelative: number,
  burnUid: number | null,
  burnPercentage: number,
): number[] {
  if (burnUid === null || burnPercentage <= 0) {
    throw new RangeError(
      `A burn UID and a positive burn percentage are required (got ${burnUid}, ${burnPercentage}); the reference refuses to set weights without them`,
    );
  }
  const burnFraction = Math.max(0.0, Math.min(100.0, burnPercentage)) / 100.0;
  const remaining = 1.0 - burnFraction;
  const burnIndex = uids.indexOf(burnUid);
  if (burnIndex < 0) return [...preBurn];
  if (totalCapRelative <= 0.0) {
    const w = preBurn.map(() => 0.0);
    w[burnIndex] = 1.0;
    return w;
  }
  const effective = Math.min(remaining, remaining * totalCapRelative);
  const preSum = fsum(preBurn);
  const weights = preSum > 0
    ? preBurn.map((w, i) => (i !== burnIndex ? w * (effective / preSum) : 0.0))
    : preBurn.map(() => 0.0);
  weights[burnIndex] = 1.0 - fsum(weights.filter((_, i) => i !== burnIndex));
  return weights;
}
