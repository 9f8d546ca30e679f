import { deepStrictEqual, ok as assert, strictEqual, throws } from "node:assert/strict";
import { SketchKernel, sketchThresholdBits } from "../../src/gpu/sketch.ts";
import { logMagnitudeBucket } from "../../src/protocol/bucket.ts";
import { sketchCoefficients } from "../../src/protocol/coefficients.ts";
import { sketches } from "../../src/protocol/sketch.ts";
import { gpuTest, randomFloats, withContext } from "./_gpu.ts";

const PRIME_Q = 2147483647;

/** The shader's bucket rule, on the host: count of thresholds ≤ |x| (bit patterns), signed. */
function thresholdBucket(x: number, thresholds: Uint32Array): number {
  const bits = new Uint32Array(new Float32Array([x]).buffer)[0];
  const a = bits & 0x7fffffff;
  if (a > 0x7f800000) return 0;
  let m = 0;
  for (const t of thresholds) if (a >= t) m++;
  return bits >>> 31 ? -m : m;
}

function f32FromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0];
}

/** Every bf16 value (as f32 bit patterns hi << 16) and ±2^16 float32 steps around each threshold. */
function bucketProbeBits(radius: number): number[] {
  const out: number[] = [];
  for (let hi = 0; hi < 65536; hi++) out.push(hi << 16);
  for (const t of sketchThresholdBits()) {
    for (let d = -radius; d <= radius; d++) out.push(t + d, (t + d) | 0x80000000);
  }
  return out;
}

Deno.test("sketchThresholdBits() reproduces the protocol's float64 buckets for all bf16 values and 2^16 float32 values around each threshold", () => {
  // Exhaustive where a boundary could be crossed: the bucket function is monotone in |x|, so
  // agreement on both sides of every threshold (±32,768 ulps) plus every bf16 value settles it.
  const thresholds = sketchThresholdBits();
  strictEqual(f32FromBits(thresholds[3]), 31);
  let checked = 0;
  for (const bits of bucketProbeBits(32768)) {
    const x = f32FromBits(bits);
    const want = logMagnitudeBucket(x);
    const got = thresholdBucket(x, thresholds);
    if (got !== want) {
      throw new Error(`bits 0x${(bits >>> 0).toString(16)} (${x}): ${got} != ${want}`);
    }
    checked++;
  }
  assert(checked > 65536 + 7 * 4 * 32768);
});

gpuTest(
  "SketchKernel.sketches() buckets every bf16 value and every float32 within 256 ulps of a threshold like the protocol",
  async () => {
    // One value per row and one coefficient of 1: the sketch is bucket(x) mod Q, compared exactly.
    const values = new Float32Array(bucketProbeBits(256).map(f32FromBits));
    const coeffs = new Int8Array([1]);
    const got = await withContext(async (ctx) => {
      const kernel = await SketchKernel.create(ctx);
      const out = await kernel.sketches(values, 1, coeffs);
      ctx.checkAlive();
      return out;
    });
    for (let i = 0; i < values.length; i++) {
      const want = (logMagnitudeBucket(values[i]) + PRIME_Q) % PRIME_Q;
      if (got[i] !== want) {
        throw new Error(`value ${values[i]} (row ${i}): GPU ${got[i]}, CPU ${want}`);
      }
    }
  },
);

gpuTest(
  "SketchKernel.sketches() equals the protocol's sketches() on rows full of ties, zeros, NaN and infinities",
  async () => {
    // Bit-exact by construction (integer comparisons on bit patterns); the rows are built so that
    // the 16th/17th magnitudes tie often, to exercise the lowest-index-first rule.
    const C = 896, rows = 384;
    const h = randomFloats(rows * C, 11, 40);
    for (let i = 0; i < h.length; i++) h[i] = Math.round(h[i] / 4) * 4; // few distinct magnitudes
    for (let r = 0; r < rows; r++) {
      const row = h.subarray(r * C, (r + 1) * C);
      if (r % 7 === 1) row.fill(0);
      if (r % 7 === 2) row.fill(-0);
      if (r % 7 === 3) row[r % C] = NaN;
      if (r % 7 === 4) row[(r * 3) % C] = Infinity;
      if (r % 7 === 5) row[(r * 5) % C] = -Infinity;
      if (r % 7 === 6) row.fill(31, 0, 40); // exact threshold value, 40-way tie
    }
    const coeffs = sketchCoefficients(
      "6a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff0",
    );
    const got = await withContext(async (ctx) => {
      const kernel = await SketchKernel.create(ctx);
      return await kernel.sketches(h, C, coeffs);
    });
    deepStrictEqual(got, sketches(h, C, coeffs));
  },
);

gpuTest("SketchKernel.bind() rejects a coefficient count beyond the row width or 32", async () => {
  await withContext(async (ctx) => {
    const kernel = await SketchKernel.create(ctx);
    const b = ctx.storage(64, "b");
    throws(() => kernel.bind(b, b, b, b, 8, 9), RangeError);
    throws(() => kernel.bind(b, b, b, b, 64, 33), RangeError);
  });
});
