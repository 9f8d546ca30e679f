// Golden values: grail-vectors.json hex_normalisation (reference Python semantics). Exact.
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  bytesToHex,
  hexToBytes,
  normalizeRandomnessHex,
  randomnessBytes,
} from "../../src/protocol/hex.ts";
import { ProtocolError } from "../../src/protocol/protocol_error.ts";
import { readFixtureJson } from "./_fixtures.ts";

const vectors = await readFixtureJson<{ hex_normalisation: { in: string; bytes_hex: string }[] }>(
  "grail-vectors.json",
);

Deno.test("randomnessBytes() matches all 5 grail-vectors hex_normalisation vectors", () => {
  let matched = 0;
  for (const v of vectors.hex_normalisation) {
    strictEqual(bytesToHex(randomnessBytes(v.in)), v.bytes_hex, `input ${JSON.stringify(v.in)}`);
    matched++;
  }
  strictEqual(matched, 5);
});

Deno.test("normalizeRandomnessHex() deletes every 0x, not only a prefix", () => {
  // "ab0xcd".replace("0x", "") == "abcd" in Python
  strictEqual(normalizeRandomnessHex("ab0xcd0X"), "abcd");
});

Deno.test("normalizeRandomnessHex() strips Python whitespace, including \\x1c and \\x85", () => {
  strictEqual(normalizeRandomnessHex("\x1c\x85 ab \u3000"), "ab");
});

Deno.test("randomnessBytes() skips ASCII whitespace between byte pairs, as bytes.fromhex", () => {
  // bytes.fromhex('ab\t\tcd') == b'\xab\xcd'
  deepStrictEqual(randomnessBytes("ab\t\tcd"), Uint8Array.of(0xab, 0xcd));
});

Deno.test("randomnessBytes() rejects whitespace inside a byte pair", () => {
  // bytes.fromhex('ab c') raises ValueError in Python
  throws(() => randomnessBytes("ab c"), ProtocolError);
});

Deno.test("randomnessBytes() pads by the length including inner whitespace, as the reference", () => {
  // "ab\tcd" has odd length 5 -> "0ab\tcd"; bytes.fromhex("0ab\tcd") raises ValueError
  throws(() => randomnessBytes("ab\tcd"), ProtocolError);
});

Deno.test("randomnessBytes() rejects a non-hex character with code bad_hex", () => {
  throws(
    () => randomnessBytes("zz"),
    (e: unknown) => e instanceof ProtocolError && e.code === "bad_hex",
  );
});

Deno.test("randomnessBytes() returns empty bytes for an empty string", () => {
  deepStrictEqual(randomnessBytes("  0x "), new Uint8Array());
});

Deno.test("hexToBytes() decodes strict hex and rejects odd length", () => {
  deepStrictEqual(hexToBytes("0Xff00"), Uint8Array.of(255, 0));
  throws(() => hexToBytes("abc"), ProtocolError);
});
