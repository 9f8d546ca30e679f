// Golden values: protocol-vectors.json prf and grail-vectors.json prf (reference PRF, SHAKE256).
// Exact: byte-for-byte digests.
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { prf } from "../../src/protocol/prf.ts";
import { fromHex, readFixtureJson, toHex } from "./_fixtures.ts";

const protocol = await readFixtureJson<{
  prf: { label_hex: string; parts_hex: string[]; out_bytes: number; out_hex: string }[];
}>("protocol-vectors.json");
const grail = await readFixtureJson<{
  prf: { label_ascii: string; parts_hex: string[]; out_bytes: number; out_hex: string }[];
}>("grail-vectors.json");

Deno.test("prf() matches all 4 protocol-vectors prf vectors (bytes labels)", () => {
  let matched = 0;
  for (const v of protocol.prf) {
    strictEqual(toHex(prf(fromHex(v.label_hex), v.parts_hex.map(fromHex), v.out_bytes)), v.out_hex);
    matched++;
  }
  strictEqual(matched, 4);
});

Deno.test("prf() matches all 6 grail-vectors prf vectors (string labels, empty part, 40 bytes)", () => {
  let matched = 0;
  for (const v of grail.prf) {
    strictEqual(toHex(prf(v.label_ascii, v.parts_hex.map(fromHex), v.out_bytes)), v.out_hex);
    matched++;
  }
  strictEqual(matched, 6);
});

Deno.test("prf() output is a prefix of a longer output (XOF)", () => {
  const long = prf("open", [Uint8Array.of(1, 2)], 64);
  deepStrictEqual(prf("open", [Uint8Array.of(1, 2)], 10), long.slice(0, 10));
});

Deno.test("prf() returns empty bytes for outBytes 0", () => {
  deepStrictEqual(prf("open", [], 0), new Uint8Array());
});

Deno.test("prf() rejects outBytes outside [0, 65536]", () => {
  throws(() => prf("open", [], 65537), RangeError);
  throws(() => prf("open", [], -1), RangeError);
  throws(() => prf("open", [], 1.5), RangeError);
});
