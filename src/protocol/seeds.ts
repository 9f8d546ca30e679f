/**
 * Seeds and randomness derived from chain data (protocol spec §4.1).
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "./hex.ts";

/**
 * The environment seed of problem `group` in a window (`derive_env_seed`): the first 4 bytes of
 * `sha256("seed|" + hotkey + ":" + windowBlockHash + ":" + group)` as a big-endian uint32.
 *
 * @param hotkey The miner's SS58 hotkey.
 * @param windowBlockHash Hash of the window's first block (`"0x"` + 64 hex, as the RPC returns it).
 * @param group Problem index (`rollout_group`), a non-negative integer.
 * @returns The seed, an integer in `[0, 2^32)`.
 * @throws {RangeError} If `group` is not a non-negative safe integer.
 *
 * @example
 * ```ts
 * import { deriveEnvSeed } from "./seeds.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const hash = "0x496aca80e4d8f29fb8e8cd816c3afb48d3f103970b3a2ee1600c08ca67326dee";
 * strictEqual(deriveEnvSeed("5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX", hash, 0), 3675082639);
 * ```
 */
export function deriveEnvSeed(hotkey: string, windowBlockHash: string, group: number): number {
  if (!Number.isSafeInteger(group) || group < 0) {
    throw new RangeError(
      `Cannot derive an environment seed for group ${group}: expected an integer ≥ 0`,
    );
  }
  const digest = sha256(new TextEncoder().encode(`seed|${hotkey}:${windowBlockHash}:${group}`));
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0);
}

/**
 * The miner's combined beacon randomness for a window: lowercase hex of
 * `sha256(ASCII(windowBlockHash + drandRandomness))`, concatenating the two strings as given.
 *
 * @param windowBlockHash Hash of the window's first block (`"0x"` + 64 hex).
 * @param drandRandomness The drand quicknet round's randomness (hex).
 * @returns 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { minerCombinedRandomness } from "./seeds.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(
 *   minerCombinedRandomness(
 *     "0x496aca80e4d8f29fb8e8cd816c3afb48d3f103970b3a2ee1600c08ca67326dee",
 *     "cf63f78cd021a2c2fa87f997c7bd1d44b77bd75db98511110edc6b5695db1aa0",
 *   ),
 *   "67ddf5ce5b7cfd4c4081d2a6ce1c1235e4f240e4322c6b1e106a6cec47948f9c",
 * );
 * ```
 */
export function minerCombinedRandomness(windowBlockHash: string, drandRandomness: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(windowBlockHash + drandRandomness)));
}
