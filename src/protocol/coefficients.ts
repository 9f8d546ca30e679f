/**
 * Sketch coefficients `r` (protocol spec §1.4).
 *
 * @module
 */

import { PROOF_COEFF_RANGE, PROOF_TOPK, RNG_LABEL_SKETCH } from "./constants.ts";
import { randomnessBytes } from "./hex.ts";
import { prf } from "./prf.ts";
import { ProtocolError } from "./protocol_error.ts";

/**
 * Maps one big-endian int16 PRF word to a coefficient in `[−127, 127]` as the reference does:
 * `floor_mod(abs_int16(v), 255) − 127`, where `abs_int16(−32768)` overflows and stays −32768, so
 * −32768 maps to 0 (a naive port gives 1).
 *
 * @param v A signed 16-bit integer.
 * @returns The coefficient.
 * @throws {RangeError} If `v` is not an integer in `[−32768, 32767]`.
 *
 * @example
 * ```ts
 * import { coefficientFromInt16 } from "./coefficients.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(coefficientFromInt16(-32768), 0);
 * strictEqual(coefficientFromInt16(254), 127);
 * ```
 */
export function coefficientFromInt16(v: number): number {
  if (!Number.isInteger(v) || v < -32768 || v > 32767) {
    throw new RangeError(`Cannot map ${v} to a coefficient: expected an int16`);
  }
  const a = v === -32768 ? -32768 : Math.abs(v); // int16 abs overflow, reproduced on purpose
  const m = ((a % 255) + 255) % 255;
  return m - PROOF_COEFF_RANGE;
}

/**
 * The sketch coefficient vector for a randomness string: `prf("sketch", hexbytes(R), 2·topk)`
 * read as `topk` big-endian int16 words, each mapped by {@linkcode coefficientFromInt16}.
 *
 * @param randomnessHex The miner's `commit.beacon.randomness` (any form {@linkcode randomnessBytes} accepts).
 * @param topk Number of coefficients; default `PROOF_TOPK` (16).
 * @returns `topk` coefficients in `[−127, 127]`.
 * @throws {ProtocolError} Code `"bad_hex"` if the randomness is not hex, `"empty_randomness"` if it is empty.
 * @throws {RangeError} If `topk` is not an integer in `[1, 32768]`.
 *
 * @example
 * ```ts
 * import { sketchCoefficients } from "./coefficients.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(
 *   Array.from(sketchCoefficients("feedbeefcafebabe1234567890abcdef")),
 *   [-38, 32, -22, -81, -76, 117, -89, -81, -123, -79, 69, 92, -82, 105, -55, 18],
 * );
 * ```
 */
export function sketchCoefficients(randomnessHex: string, topk: number = PROOF_TOPK): Int8Array {
  if (!Number.isInteger(topk) || topk < 1 || topk > 32768) {
    throw new RangeError(
      `Cannot make ${topk} sketch coefficients: expected an integer in [1, 32768]`,
    );
  }
  const seed = randomnessBytes(randomnessHex);
  if (seed.length === 0) {
    throw new ProtocolError(
      "empty_randomness",
      `Cannot derive sketch coefficients: randomness ${
        JSON.stringify(randomnessHex)
      } is empty after normalisation; pass the beacon's hex randomness`,
    );
  }
  const raw = prf(RNG_LABEL_SKETCH, [seed], 2 * topk);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Int8Array(topk);
  for (let i = 0; i < topk; i++) out[i] = coefficientFromInt16(view.getInt16(2 * i));
  return out;
}
