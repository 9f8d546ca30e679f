/**
 * Softmax and log-softmax of one row of logits at one index, as the validator reads model
 * probabilities (termination's P(EOS), log-prob re-check, distribution check).
 *
 * The reference computes these in float32 with torch; here the float32 logits are reduced in
 * float64 (max-shifted), which is at least as accurate. Results agree to about 1e-7 relative —
 * far inside every threshold that consumes them (0.02 EOS floor, 0.10 median deviation).
 *
 * @module
 */

function checkIndex(logits: ArrayLike<number>, index: number): void {
  if (logits.length === 0) throw new RangeError("Logits row is empty; expected V > 0 values");
  if (!Number.isInteger(index) || index < 0 || index >= logits.length) {
    throw new RangeError(
      `Token index ${index} is outside the logits row [0, ${logits.length}); check the vocab size`,
    );
  }
}

/**
 * `log_softmax(logits)[index]`.
 *
 * @param logits One row of V logits.
 * @param index The token id.
 * @returns The log-probability.
 * @throws {RangeError} If the row is empty or the index is out of range.
 *
 * @example
 * ```ts
 * import { logSoftmaxAt } from "./softmax.ts";
 * const lp = logSoftmaxAt(new Float32Array([0, 0]), 1);
 * if (Math.abs(lp - Math.log(0.5)) > 1e-15) throw new Error();
 * ```
 */
export function logSoftmaxAt(logits: ArrayLike<number>, index: number): number {
  checkIndex(logits, index);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return logits[index] - max - Math.log(sum);
}

/**
 * `softmax(logits)[index]`.
 *
 * @param logits One row of V logits.
 * @param index The token id.
 * @returns The probability.
 * @throws {RangeError} If the row is empty or the index is out of range.
 *
 * @example
 * ```ts
 * import { softmaxAt } from "./softmax.ts";
 * if (Math.abs(softmaxAt([0, Math.log(3)], 1) - 0.75) > 1e-15) throw new Error();
 * ```
 */
export function softmaxAt(logits: ArrayLike<number>, index: number): number {
  return Math.exp(logSoftmaxAt(logits, index));
}
