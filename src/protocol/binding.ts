/**
 * The commit binding (protocol spec §4.3): the 32-byte message a miner signs to bind its tokens,
 * randomness, model and commitments to its hotkey.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { COMMIT_BINDING_DOMAIN } from "./constants.ts";
import { randomnessBytes } from "./hex.ts";
import { canonicalJson, type PythonJsonValue } from "./python_json.ts";
import { hashTokens } from "./tokens.ts";

/**
 * `sha256(UTF-8(json.dumps(commitments, sort_keys=True, separators=(",", ":"))))`. Every key of
 * every commitment object is serialised (v5 has only `sketch`).
 *
 * @param commitments Per-position commitments as received.
 * @returns 32-byte digest.
 * @throws {TypeError} If a commitment holds a value JSON cannot.
 *
 * @example
 * ```ts
 * import { hashCommitments } from "./binding.ts";
 * import { bytesToHex } from "./hex.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * // sha256('[{"sketch":1}]')
 * strictEqual(
 *   bytesToHex(hashCommitments([{ sketch: 1 }])),
 *   "e75e39cb342ac2ee5dab74f424fe059e4475dd4c5d1262eba22174f52d84ebb9",
 * );
 * ```
 */
export function hashCommitments(commitments: readonly { sketch: number }[]): Uint8Array {
  return sha256(new TextEncoder().encode(canonicalJson(commitments as PythonJsonValue)));
}

function be32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

/**
 * The commit binding: `sha256("grail-commit-v1" || Σ BE32(len(part)) || part)` over the parts
 * `sha256(tokens)`, `hexbytes(randomness)`, `UTF-8(modelName)`, `int32_be(layerIndex)`,
 * `hashCommitments(commitments)`.
 *
 * @param tokens The rollout's full token list.
 * @param randomnessHex `commit.beacon.randomness` (normalised as spec §1.1; may be empty).
 * @param modelName `commit.model.name`.
 * @param layerIndex `commit.model.layer_index` (int32).
 * @param commitments The commitments as received.
 * @returns The 32-byte message to sign.
 * @throws {RangeError} If `layerIndex` is not an int32 or a token id not a safe integer.
 * @throws {ProtocolError} Code `"bad_hex"` if the randomness is not hex.
 *
 * @example
 * ```ts
 * import { commitBinding } from "./binding.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const binding = commitBinding([1, 2, 3], "ab", "m", -1, [{ sketch: 1 }, { sketch: 2 }, { sketch: 3 }]);
 * strictEqual(binding.length, 32);
 * ```
 */
export function commitBinding(
  tokens: readonly number[],
  randomnessHex: string,
  modelName: string,
  layerIndex: number,
  commitments: readonly { sketch: number }[],
): Uint8Array {
  if (!Number.isInteger(layerIndex) || layerIndex < -(2 ** 31) || layerIndex >= 2 ** 31) {
    throw new RangeError(`Cannot bind layer index ${layerIndex}: expected an int32`);
  }
  const parts = [
    hashTokens(tokens),
    randomnessBytes(randomnessHex),
    new TextEncoder().encode(modelName),
    be32(layerIndex),
    hashCommitments(commitments),
  ];
  const domain = new TextEncoder().encode(COMMIT_BINDING_DOMAIN);
  let length = domain.length;
  for (const part of parts) length += 4 + part.length;
  const message = new Uint8Array(length);
  message.set(domain, 0);
  let offset = domain.length;
  for (const part of parts) {
    message.set(be32(part.length), offset);
    message.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return sha256(message);
}
