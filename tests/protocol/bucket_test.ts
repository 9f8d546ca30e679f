// Golden values: protocol-vectors.json buckets (f32 bit patterns) and grail-vectors.json bucket
// and bucket_thresholds (reference float64 bucket). Exact: buckets are integers.
import { strictEqual } from "node:assert/strict";
import { logMagnitudeBucket } from "../../src/protocol/bucket.ts";
import { fromHex, readFixtureJson } from "./_fixtures.ts";

const protocol = await readFixtureJson<{ buckets: { f32_hex: string; bucket: number }[] }>(
  "protocol-vectors.json",
);
const grail = await readFixtureJson<{
  bucket: { x: number | string; bucket: number }[];
  bucket_thresholds: Record<string, number>;
}>("grail-vectors.json");

Deno.test("logMagnitudeBucket() matches all 42 protocol-vectors f32 threshold vectors", () => {
  let matched = 0;
  for (const v of protocol.buckets) {
    const x = new DataView(fromHex(v.f32_hex).buffer).getFloat32(0); // big-endian bit pattern
    strictEqual(logMagnitudeBucket(x), v.bucket, `f32 ${v.f32_hex} = ${x}`);
    matched++;
  }
  strictEqual(matched, 42);
});

Deno.test("logMagnitudeBucket() matches all 28 grail-vectors bucket vectors (±Inf, NaN, −0, dead zone)", () => {
  const parse = (x: number | string): number =>
    x === "inf" ? Infinity : x === "-inf" ? -Infinity : x === "nan" ? NaN : (x as number);
  let matched = 0;
  for (const v of grail.bucket) {
    strictEqual(logMagnitudeBucket(parse(v.x)), v.bucket, `x = ${v.x}`);
    matched++;
  }
  strictEqual(matched, 28);
});

Deno.test("logMagnitudeBucket() switches exactly at all 7 grail-vectors thresholds", () => {
  let matched = 0;
  for (const [key, t] of Object.entries(grail.bucket_thresholds)) {
    const b = Number(key.slice(3));
    // The listed thresholds are rounded doubles of 2^(1.25 b) − 1; a relative 1e-9 step on
    // either side is far below any bf16/f32 spacing there yet clears the rounding. 31 is exact.
    strictEqual(logMagnitudeBucket(t * (1 + 1e-9)), b, `above ${key}`);
    strictEqual(logMagnitudeBucket(-t * (1 + 1e-9)), -b, `above -${key}`);
    strictEqual(logMagnitudeBucket(t * (1 - 1e-9)), b - 1, `below ${key}`);
    matched++;
  }
  strictEqual(matched, 7);
});

Deno.test("logMagnitudeBucket() relies on an exact Math.log2(32)", () => {
  strictEqual(Math.log2(32), 5);
  strictEqual(logMagnitudeBucket(31), 4);
});

Deno.test("logMagnitudeBucket() never returns −0", () => {
  strictEqual(Object.is(logMagnitudeBucket(-0.5), -0), false);
  strictEqual(Object.is(logMagnitudeBucket(-0), -0), false);
});
