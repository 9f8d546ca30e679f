// Golden values: protocol-vectors.json r_vec, grail-vectors.json r_vec and r_vec_int16_edge, and
// the r_vec of both fixture models' golden.json (all from the reference generate_r_vec). Exact.
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { coefficientFromInt16, sketchCoefficients } from "../../src/protocol/coefficients.ts";
import { prf } from "../../src/protocol/prf.ts";
import { randomnessBytes } from "../../src/protocol/hex.ts";
import { ProtocolError } from "../../src/protocol/protocol_error.ts";
import { GOLDEN_MODELS, readFixtureJson, readGolden, toHex } from "./_fixtures.ts";

const protocol = await readFixtureJson<{ r_vec: { rand: string; coeffs: number[] }[] }>(
  "protocol-vectors.json",
);
const grail = await readFixtureJson<{
  r_vec: { randomness: string; prf_out_hex: string; int16_be: number[]; coeffs: number[] }[];
  r_vec_int16_edge: { cases: { v: number; coeff: number }[] };
}>("grail-vectors.json");

Deno.test("sketchCoefficients() matches all 5 protocol-vectors r_vec vectors", () => {
  let matched = 0;
  for (const v of protocol.r_vec) {
    deepStrictEqual(Array.from(sketchCoefficients(v.rand)), v.coeffs, v.rand);
    matched++;
  }
  strictEqual(matched, 5);
});

Deno.test("sketchCoefficients() matches all 5 grail-vectors r_vec vectors, PRF bytes and int16 words included", () => {
  let matched = 0;
  for (const v of grail.r_vec) {
    const raw = prf("sketch", [randomnessBytes(v.randomness)], 32);
    strictEqual(toHex(raw), v.prf_out_hex);
    const view = new DataView(raw.buffer);
    deepStrictEqual(Array.from({ length: 16 }, (_, i) => view.getInt16(2 * i)), v.int16_be);
    deepStrictEqual(Array.from(sketchCoefficients(v.randomness)), v.coeffs);
    matched++;
  }
  strictEqual(matched, 5);
});

Deno.test("coefficientFromInt16() matches all 12 int16 edge cases, -32768 → 0 included", () => {
  let matched = 0;
  for (const c of grail.r_vec_int16_edge.cases) {
    strictEqual(coefficientFromInt16(c.v), c.coeff, `v = ${c.v}`);
    matched++;
  }
  strictEqual(matched, 12);
});

Deno.test("sketchCoefficients() matches both fixture models' reference r_vec", async () => {
  let matched = 0;
  for (const name of GOLDEN_MODELS) {
    const golden = await readGolden(name);
    deepStrictEqual(Array.from(sketchCoefficients(golden.json.randomness)), golden.json.r_vec);
    matched++;
  }
  strictEqual(matched, 2);
});

Deno.test("sketchCoefficients() rejects empty randomness", () => {
  throws(
    () => sketchCoefficients("0x"),
    (e: unknown) => e instanceof ProtocolError && e.code === "empty_randomness",
  );
});

Deno.test("coefficientFromInt16() rejects values outside int16", () => {
  throws(() => coefficientFromInt16(32768), RangeError);
});
