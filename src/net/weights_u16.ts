/**
 * The Bittensor SDK's conversion of a float weight vector to the `Vec<u16>` pair that
 * `set_weights` puts on chain (SDK 9.12.1, infra spec §3.6 step 3), and its version key.
 *
 * @module
 */

/** Largest on-chain weight: the max weight of every emitted vector maps to it. */
export const U16_MAX = 65535;

/** The SDK version the reference pins (`bittensor==9.12.1`, infra spec header). */
export const SDK_VERSION = "9.12.1";

/**
 * The `version_key` the reference sends with every `set_weights`: the SDK's own version as an
 * integer, `9·1000² + 12·1000 + 1` (infra spec §3.6).
 */
export const SDK_VERSION_KEY = 9012001;

/** A weight vector as emitted on chain: destination uids and their u16 weights, aligned. */
export interface EmittedWeights {
  /** Destination uids, in input order, zero-weight entries dropped. */
  uids: number[];
  /** u16 weights aligned with `uids`; the largest is 65535. */
  weights: number[];
}

/**
 * Encodes a dotted version like the SDK's `version_as_int`: Σ partᵢ·1000^i from the last part.
 *
 * @param version A version `MAJOR.MINOR.PATCH` with each part below 1000 (a suffix after the
 *   patch number, such as `-rc1`, is ignored like the SDK's regex does).
 * @returns The integer version key.
 * @throws {RangeError} When the string does not start with three dot-separated integers < 1000.
 *
 * @example The reference's key
 * ```ts
 * import { versionAsInt } from "./weights_u16.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(versionAsInt("9.12.1"), 9012001);
 * ```
 */
export function versionAsInt(version: string): number {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (match === null) {
    throw new RangeError(
      `Cannot encode version ${JSON.stringify(version.slice(0, 40))}: expected MAJOR.MINOR.PATCH`,
    );
  }
  const parts = match.slice(1, 4).map(Number);
  if (parts.some((part) => part >= 1000)) {
    throw new RangeError(
      `Cannot encode version ${JSON.stringify(version)}: every part must be below 1000`,
    );
  }
  return parts[0] * 1_000_000 + parts[1] * 1000 + parts[2];
}

/**
 * Python's `round(x)` for a finite double: nearest integer, exact ties to even.
 *
 * @param x A finite number.
 * @returns The rounded integer.
 *
 * @example
 * ```ts
 * import { roundHalfEven } from "./weights_u16.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual([0.5, 1.5, 2.5, 32767.5, 2.4999].map(roundHalfEven), [0, 2, 2, 32768, 2]);
 * ```
 */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor; // exact for |x| < 2^52
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Converts float weights to the u16 vectors the SDK emits, exactly: cast each weight to float32,
 * reject negatives; an all-zero vector emits nothing; otherwise divide by the max weight,
 * multiply by 65535, round half-to-even and drop the entries that round to zero (with their
 * uids). Stricter than the SDK where it would misbehave: non-finite weights and uids outside
 * u16 are refused.
 *
 * @param uids Destination uids (integers in 0..65535), aligned with `weights`.
 * @param weights Non-negative finite weights; any scale (only ratios matter).
 * @returns The uids and u16 weights to put on chain.
 * @throws {RangeError} On empty or unequal-length inputs, a uid that is not a u16 integer, or a
 *   negative, NaN or infinite weight; the message names the index and value.
 *
 * @example Max-normalised to 65535, half-to-even, zeros dropped
 * ```ts
 * import { convertWeightsForEmit } from "./weights_u16.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(convertWeightsForEmit([0, 1, 2, 3], [1, 0.5, 0, 1e-6]), {
 *   uids: [0, 1],
 *   weights: [65535, 32768],
 * });
 * ```
 */
export function convertWeightsForEmit(
  uids: readonly number[],
  weights: readonly number[],
): EmittedWeights {
  if (uids.length !== weights.length) {
    throw new RangeError(
      `Weights and uids must have the same length, got ${uids.length} uids and ${weights.length} weights`,
    );
  }
  if (uids.length === 0) {
    throw new RangeError("Cannot convert an empty weight vector: pass at least one uid and weight");
  }
  uids.forEach((uid, i) => {
    if (!Number.isInteger(uid) || uid < 0 || uid > U16_MAX) {
      throw new RangeError(`Uid at index ${i} must be an integer in 0..65535, got ${uid}`);
    }
  });
  // The SDK casts to numpy float32 before anything else; later arithmetic is in doubles.
  const w32 = weights.map((weight, i) => {
    if (!Number.isFinite(weight)) {
      throw new RangeError(`Weight at index ${i} must be finite, got ${weight}`);
    }
    if (weight < 0) {
      throw new RangeError(
        `Weight at index ${i} is negative (${weight}); weights on chain must be >= 0`,
      );
    }
    return Math.fround(weight);
  });
  const max = w32.reduce((a, b) => (b > a ? b : a), 0);
  if (max === 0) return { uids: [], weights: [] };
  const out: EmittedWeights = { uids: [], weights: [] };
  w32.forEach((weight, i) => {
    const value = roundHalfEven((weight / max) * U16_MAX);
    if (value !== 0) {
      out.uids.push(uids[i]);
      out.weights.push(value);
    }
  });
  return out;
}
