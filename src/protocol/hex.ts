/**
 * Randomness hex normalisation (protocol spec §1.1), reproducing Python's
 * `bytes.fromhex(s.strip().replace("0x", "").replace("0X", ""))` with a left `0` pad to even
 * length.
 *
 * @module
 */

import { ProtocolError } from "./protocol_error.ts";

// Python str.strip() removes exactly the characters for which str.isspace() is true.
const PY_WHITESPACE =
  "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

function pyStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && PY_WHITESPACE.includes(s[start])) start++;
  while (end > start && PY_WHITESPACE.includes(s[end - 1])) end--;
  return s.slice(start, end);
}

/**
 * Normalises a randomness string as the reference does before decoding it: strip surrounding
 * whitespace (Python's definition), delete every `0x`/`0X` (anywhere, not only a prefix), and
 * left-pad with one `0` to even length. The result is not validated; see
 * {@linkcode randomnessBytes}.
 *
 * @param s The randomness string as received.
 * @returns The normalised hex text.
 *
 * @example
 * ```ts
 * import { normalizeRandomnessHex } from "./hex.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(normalizeRandomnessHex("  0XFEEDbeef \n"), "FEEDbeef");
 * strictEqual(normalizeRandomnessHex("abc"), "0abc");
 * ```
 */
export function normalizeRandomnessHex(s: string): string {
  const stripped = pyStrip(s).replaceAll("0x", "").replaceAll("0X", "");
  return stripped.length % 2 === 1 ? "0" + stripped : stripped;
}

const ASCII_SPACE = " \t\n\r\v\f";

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Decodes a randomness string into bytes exactly as the reference does (spec §1.1):
 * {@linkcode normalizeRandomnessHex}, then Python's `bytes.fromhex`, which is case-insensitive
 * and skips ASCII whitespace between byte pairs. An empty result is returned as zero bytes;
 * callers that need bytes check for that.
 *
 * @param s The randomness string as received.
 * @returns The decoded bytes.
 * @throws {ProtocolError} Code `"bad_hex"` if a non-hex character remains.
 *
 * @example
 * ```ts
 * import { randomnessBytes } from "./hex.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(randomnessBytes("0XFEEDbeef"), Uint8Array.of(0xfe, 0xed, 0xbe, 0xef));
 * deepStrictEqual(randomnessBytes("abc"), Uint8Array.of(0x0a, 0xbc));
 * ```
 */
export function randomnessBytes(s: string): Uint8Array {
  const hex = normalizeRandomnessHex(s);
  const out = new Uint8Array(hex.length >> 1);
  let n = 0;
  let i = 0;
  while (i < hex.length) {
    if (ASCII_SPACE.includes(hex[i])) {
      i++;
      continue;
    }
    const hi = hexDigit(hex.charCodeAt(i));
    const lo = i + 1 < hex.length ? hexDigit(hex.charCodeAt(i + 1)) : -1;
    if (hi < 0 || lo < 0) {
      const shown = s.length > 80 ? `${s.slice(0, 80)}…` : s;
      throw new ProtocolError(
        "bad_hex",
        `Cannot decode randomness ${JSON.stringify(shown)}: non-hex character near position ${
          hi < 0 ? i : i + 1
        } of the normalised text; expected hex digits (optionally 0x-prefixed)`,
      );
    }
    out[n++] = hi * 16 + lo;
    i += 2;
  }
  return out.slice(0, n);
}

/**
 * Lowercase hex of bytes, without prefix (how the reference writes randomness and signatures).
 *
 * @param bytes Bytes to encode.
 * @returns Lowercase hex, two digits per byte.
 *
 * @example
 * ```ts
 * import { bytesToHex } from "./hex.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(bytesToHex(Uint8Array.of(0, 171, 255)), "00abff");
 * ```
 */
export function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Strict hex decoding for signatures and digests: an optional `0x` prefix, then an even number
 * of hex digits, nothing else.
 *
 * @param hex The hex text.
 * @returns The decoded bytes.
 * @throws {ProtocolError} Code `"bad_hex"` for odd length or a non-hex character.
 *
 * @example
 * ```ts
 * import { hexToBytes } from "./hex.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(hexToBytes("0x00abff"), Uint8Array.of(0, 171, 255));
 * ```
 */
export function hexToBytes(hex: string): Uint8Array {
  const body = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body)) {
    const shown = hex.length > 80 ? `${hex.slice(0, 80)}…` : hex;
    throw new ProtocolError(
      "bad_hex",
      `Cannot decode hex ${JSON.stringify(shown)}: expected an even number of hex digits`,
    );
  }
  const out = new Uint8Array(body.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = hexDigit(body.charCodeAt(2 * i)) * 16 + hexDigit(body.charCodeAt(2 * i + 1));
  }
  return out;
}
