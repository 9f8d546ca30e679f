/**
 * Verification of challenged sketch positions (protocol spec §3.4).
 *
 * @module
 */

import {
  PRIME_Q,
  PROOF_SKETCH_TOLERANCE_BASE,
  PROOF_SKETCH_TOLERANCE_GROWTH,
} from "./constants.ts";
import { sketchOf } from "./sketch.ts";

function checkSketch(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= PRIME_Q) {
    throw new RangeError(`Cannot compare ${name} ${value}: expected an integer in [0, PRIME_Q)`);
  }
}

function checkPosition(position: number): void {
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`Cannot use position ${position}: expected an integer ≥ 0`);
  }
}

/**
 * Sketch tolerance at an absolute position: `trunc(6000 + 5.0 · sqrt(position))`.
 *
 * @param position Absolute token position (≥ 0).
 * @returns The largest accepted modular distance.
 * @throws {RangeError} If `position` is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { sketchTolerance } from "./verify.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(sketchTolerance(0), 6000);
 * strictEqual(sketchTolerance(8192), 6452);
 * ```
 */
export function sketchTolerance(position: number): number {
  checkPosition(position);
  return Math.trunc(
    PROOF_SKETCH_TOLERANCE_BASE + PROOF_SKETCH_TOLERANCE_GROWTH * Math.sqrt(position),
  );
}

/**
 * Distance on the ring `Z/PRIME_Q`: `min(|a − b|, PRIME_Q − |a − b|)`.
 *
 * @param a A sketch in `[0, PRIME_Q)`.
 * @param b A sketch in `[0, PRIME_Q)`.
 * @returns The distance, in `[0, PRIME_Q / 2]`.
 * @throws {RangeError} If either value is outside `[0, PRIME_Q)` (where the reference's formula
 * would go negative and accept anything).
 *
 * @example
 * ```ts
 * import { modularDistance } from "./verify.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(modularDistance(2147483637, 20), 30);
 * ```
 */
export function modularDistance(a: number, b: number): number {
  checkSketch("sketch", a);
  checkSketch("sketch", b);
  const d = Math.abs(a - b);
  return Math.min(d, PRIME_Q - d);
}

/** Outcome of checking one position: whether it passed, the distance and the tolerance used. */
export interface SketchCheck {
  /** `diff ≤ tolerance`. */
  ok: boolean;
  /** Modular distance between the two sketches. */
  diff: number;
  /** Tolerance at the position. */
  tolerance: number;
}

/**
 * Checks a miner's sketch against the validator's recomputed one at a position: passes iff the
 * modular distance is at most {@linkcode sketchTolerance}.
 *
 * @param validatorSketch The validator's sketch from its own hidden state.
 * @param minerSketch The committed sketch.
 * @param position Absolute token position.
 * @returns `{ ok, diff, tolerance }`.
 * @throws {RangeError} If a sketch is outside `[0, PRIME_Q)` or the position is negative
 * (`parseRollout` already rejects such commitments).
 *
 * @example
 * ```ts
 * import { verifySketch } from "./verify.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(verifySketch(3000, 2147480647, 0), { ok: true, diff: 6000, tolerance: 6000 });
 * deepStrictEqual(verifySketch(3001, 2147480647, 0), { ok: false, diff: 6001, tolerance: 6000 });
 * ```
 */
export function verifySketch(
  validatorSketch: number,
  minerSketch: number,
  position: number,
): SketchCheck {
  checkSketch("validator sketch", validatorSketch);
  checkSketch("miner sketch", minerSketch);
  const diff = modularDistance(validatorSketch, minerSketch);
  const tolerance = sketchTolerance(position);
  return { ok: diff <= tolerance, diff, tolerance };
}

/** Result of checking a rollout's challenged positions. */
export interface CommitmentsCheck {
  /** True iff every challenged position passed. */
  ok: boolean;
  /** One entry per challenged position, in the order given. */
  positions: (SketchCheck & { position: number; validatorSketch: number; minerSketch: number })[];
}

/**
 * Verifies committed sketches at challenged positions against the validator's hidden states
 * (spec §3.4/§5.7 step 9): every position is evaluated, and the check passes only if all pass.
 *
 * @param hidden Validator hidden states, `[L, hiddenDim]` row-major (f32, or f64 values).
 * @param hiddenDim Hidden size C.
 * @param commitments The rollout's commitments (one per position).
 * @param indices Challenged absolute positions.
 * @param coeffs Coefficients from the miner's beacon randomness.
 * @returns Overall verdict and per-position details.
 * @throws {RangeError} If an index is beyond the hidden states or the commitments, or shapes disagree.
 *
 * @example
 * ```ts
 * import { verifyCommitmentsAt } from "./verify.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const hidden = Float32Array.of(2, 0.5, -31, 0, 0.25, 500);
 * const result = verifyCommitmentsAt(hidden, 3, [{ sketch: 2147483630 }, { sketch: 40 }], [0, 1], Int8Array.of(3, 5));
 * strictEqual(result.ok, true);
 * strictEqual(result.positions[1].diff, 5);
 * ```
 */
export function verifyCommitmentsAt(
  hidden: ArrayLike<number>,
  hiddenDim: number,
  commitments: readonly { sketch: number }[],
  indices: readonly number[],
  coeffs: Int8Array,
): CommitmentsCheck {
  if (!Number.isInteger(hiddenDim) || hiddenDim < 1 || hidden.length % hiddenDim !== 0) {
    throw new RangeError(
      `Cannot split ${hidden.length} activations into rows of ${hiddenDim}: expected a positive divisor`,
    );
  }
  const rows = hidden.length / hiddenDim;
  const positions = indices.map((position) => {
    checkPosition(position);
    if (position >= rows || position >= commitments.length) {
      throw new RangeError(
        `Cannot verify position ${position}: only ${rows} hidden rows and ${commitments.length} commitments`,
      );
    }
    const row = Array.prototype.slice.call(
      hidden,
      position * hiddenDim,
      (position + 1) * hiddenDim,
    ) as number[];
    const validatorSketch = sketchOf(row, coeffs);
    const minerSketch = commitments[position].sketch;
    return {
      position,
      validatorSketch,
      minerSketch,
      ...verifySketch(validatorSketch, minerSketch, position),
    };
  });
  return { ok: positions.every((p) => p.ok), positions };
}
