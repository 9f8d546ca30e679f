/**
 * The GRAIL PRF (protocol spec §1.2): SHAKE256 over `label || "||" || part0 || "||" || part1 …`.
 *
 * @module
 */

import { shake256 } from "@noble/hashes/sha3.js";

/** Largest output the reference PRF allows. */
export const PRF_MAX_OUT_BYTES = 65536;

const SEPARATOR = Uint8Array.of(0x7c, 0x7c); // "||"

/**
 * Pseudo-random function of the reference: the first `outBytes` bytes of
 * `shake256(label || "||" || parts[0] || "||" || … || parts[n−1])`. With no parts the preimage is
 * `label || "||"`. A string label is encoded as UTF-8 (the reference's labels are ASCII).
 *
 * @param label Domain label, e.g. `"sketch"` or `"open"`.
 * @param parts Byte strings joined by `"||"`.
 * @param outBytes Output length in `[0, 65536]`.
 * @returns `outBytes` pseudo-random bytes.
 * @throws {RangeError} If `outBytes` is not an integer in `[0, 65536]`.
 *
 * @example
 * ```ts
 * import { prf } from "./prf.ts";
 * import { bytesToHex } from "./hex.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * // grail-vectors.json: prf(b"open", [b"a", b"b", b"c"], 8)
 * const enc = new TextEncoder();
 * const out = prf("open", [enc.encode("a"), enc.encode("b"), enc.encode("c")], 8);
 * strictEqual(bytesToHex(out), "abac4ed62b44fb81");
 * ```
 */
export function prf(
  label: string | Uint8Array,
  parts: readonly Uint8Array[],
  outBytes: number,
): Uint8Array {
  if (!Number.isInteger(outBytes) || outBytes < 0 || outBytes > PRF_MAX_OUT_BYTES) {
    throw new RangeError(
      `Cannot produce ${outBytes} PRF bytes: expected an integer in [0, ${PRF_MAX_OUT_BYTES}]`,
    );
  }
  if (outBytes === 0) return new Uint8Array(0);
  const labelBytes = typeof label === "string" ? new TextEncoder().encode(label) : label;
  let length = labelBytes.length + SEPARATOR.length;
  for (let i = 0; i < parts.length; i++) length += parts[i].length + (i > 0 ? 2 : 0);
  const preimage = new Uint8Array(length);
  preimage.set(labelBytes, 0);
  let offset = labelBytes.length;
  preimage.set(SEPARATOR, offset);
  offset += SEPARATOR.length;
  parts.forEach((part, i) => {
    if (i > 0) {
      preimage.set(SEPARATOR, offset);
      offset += SEPARATOR.length;
    }
    preimage.set(part, offset);
    offset += part.length;
  });
  return shake256(preimage, { dkLen: outBytes });
}
