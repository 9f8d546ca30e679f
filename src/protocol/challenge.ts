/**
 * Challenge index derivation (protocol spec §2): which positions a validator opens.
 *
 * @module
 */

import { RNG_LABEL_OPEN } from "./constants.ts";
import { randomnessBytes } from "./hex.ts";
import { prf } from "./prf.ts";
import { ProtocolError } from "./protocol_error.ts";
import { PythonRandom } from "./python_random.ts";
import { hashTokens } from "./tokens.ts";

/**
 * The reference's `indices_from_root`: `k` distinct positions in `[0, seqLen)`, ascending.
 * Seeded by `prf("open", sha256(tokens), hexbytes(randomness))` through CPython's
 * `random.Random(bytes)`; `sample` when `k < seqLen·0.1` (compared in double precision), else a
 * full `shuffle` and the first `k`.
 *
 * @param tokens The full token list (prompt and completion) the PRF hashes.
 * @param randomnessHex The challenge randomness (validator `window_rand`).
 * @param seqLen Population size.
 * @param k How many positions, `0 < k ≤ seqLen`.
 * @returns `k` ascending positions.
 * @throws {RangeError} If `k` or `seqLen` are out of range or `tokens` is empty.
 * @throws {ProtocolError} Code `"empty_randomness"` or `"bad_hex"` for unusable randomness.
 *
 * @example
 * ```ts
 * import { challengeIndices } from "./challenge.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * // grail-vectors.json indices_from_root, seq_len 20, k 1 (sample branch)
 * const tokens = Array.from({ length: 48 }, (_, i) => 100 + i);
 * deepStrictEqual(challengeIndices(tokens, "feedbeefcafebabe1234567890abcdef", 20, 1), [19]);
 * ```
 */
export function challengeIndices(
  tokens: readonly number[],
  randomnessHex: string,
  seqLen: number,
  k: number,
): number[] {
  if (!Number.isSafeInteger(seqLen) || !Number.isInteger(k) || k <= 0 || k > seqLen) {
    throw new RangeError(
      `Cannot draw ${k} challenge indices from ${seqLen} positions: expected integers with 0 < k ≤ seqLen`,
    );
  }
  if (tokens.length === 0) {
    throw new RangeError("Cannot draw challenge indices for an empty token list");
  }
  const rand = randomnessBytes(randomnessHex);
  if (rand.length === 0) {
    throw new ProtocolError(
      "empty_randomness",
      `Cannot draw challenge indices: randomness ${
        JSON.stringify(randomnessHex)
      } is empty after normalisation`,
    );
  }
  const material = prf(RNG_LABEL_OPEN, [hashTokens(tokens), rand], 32);
  const rng = new PythonRandom(material);
  let picked: number[];
  if (k < seqLen * 0.1) {
    picked = rng.sampleIndices(seqLen, k);
  } else {
    const all = Array.from({ length: seqLen }, (_, i) => i);
    rng.shuffle(all);
    picked = all.slice(0, k);
  }
  return picked.sort((a, b) => a - b);
}

/**
 * The reference's `indices_from_root_in_range`: `min(k, end − start)` positions in
 * `[start, end)`, ascending; empty when `end ≤ start`. The PRF still hashes the full token list;
 * only the population is `range(end − start)`, shifted by `start`. Validators call it with
 * `start = prompt_length`, `end = prompt_length + completion_length`, `k = 32`.
 *
 * @param tokens The full token list.
 * @param randomnessHex The challenge randomness.
 * @param start First eligible position.
 * @param end One past the last eligible position.
 * @param k Requested count (≥ 1).
 * @returns Ascending absolute positions.
 * @throws {RangeError} If `k < 1` (with a non-empty range) or `tokens` is empty.
 * @throws {ProtocolError} Code `"empty_randomness"` or `"bad_hex"` for unusable randomness.
 *
 * @example
 * ```ts
 * import { challengeIndicesInRange } from "./challenge.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * // grail-vectors.json indices_in_range: a range shorter than k gives all of it
 * const tokens = Array.from({ length: 48 }, (_, i) => 100 + i);
 * deepStrictEqual(
 *   challengeIndicesInRange(tokens, "feedbeefcafebabe1234567890abcdef", 40, 48, 32),
 *   [40, 41, 42, 43, 44, 45, 46, 47],
 * );
 * ```
 */
export function challengeIndicesInRange(
  tokens: readonly number[],
  randomnessHex: string,
  start: number,
  end: number,
  k: number,
): number[] {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new RangeError(`Cannot draw challenge indices in [${start}, ${end}): expected integers`);
  }
  const length = end - start;
  if (length <= 0) return [];
  return challengeIndices(tokens, randomnessHex, length, Math.min(k, length)).map((i) => start + i);
}
