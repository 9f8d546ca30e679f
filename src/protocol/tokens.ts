/**
 * Token serialisation and hash (protocol spec §1.3).
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";

/**
 * Serialises token ids as the reference does: each id's low 32 bits, big-endian (two's
 * complement for negatives, so −1 → `ff ff ff ff` and 2^32 + 5 → `00 00 00 05`).
 *
 * @param tokens Token ids (safe integers).
 * @returns `4 * tokens.length` bytes.
 * @throws {RangeError} If an id is not a safe integer.
 *
 * @example
 * ```ts
 * import { tokensBytes } from "./tokens.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(tokensBytes([1, -1]), Uint8Array.of(0, 0, 0, 1, 255, 255, 255, 255));
 * ```
 */
export function tokensBytes(tokens: readonly number[]): Uint8Array {
  const out = new Uint8Array(tokens.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!Number.isSafeInteger(t)) {
      throw new RangeError(`Cannot serialise token ${t} at index ${i}: expected a safe integer`);
    }
    // ToUint32 is exactly "low 32 bits" for every safe integer, negatives included.
    view.setUint32(i * 4, t >>> 0);
  }
  return out;
}

/**
 * `sha256` of {@linkcode tokensBytes}: the tokens hash used by challenge derivation and the
 * commit binding.
 *
 * @param tokens Token ids (safe integers).
 * @returns 32-byte digest.
 * @throws {RangeError} If an id is not a safe integer.
 *
 * @example
 * ```ts
 * import { hashTokens } from "./tokens.ts";
 * import { bytesToHex } from "./hex.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(
 *   bytesToHex(hashTokens([0, 1, 2])),
 *   "9b8ddf1ef739bf7b27a17c33f02c862e27e16639246e87885ef1ee7c7914a656",
 * );
 * ```
 */
export function hashTokens(tokens: readonly number[]): Uint8Array {
  return sha256(tokensBytes(tokens));
}
