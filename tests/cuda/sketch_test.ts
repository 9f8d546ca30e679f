import { deepStrictEqual, ok as assert, strictEqual, throws } from "node:assert/strict";
import { CudaContext } from "../../src/cuda/context.ts";
import { CudaModel } from "../../src/cuda/cuda_model.ts";
import { CUDA_SKETCH_MAX_K, CudaSketch, cudaSketchParams } from "../../src/cuda/sketch.ts";
import { sketchThresholdBits } from "../../src/gpu/sketch.ts";
import { openCheckpoint } from "../../src/model/checkpoint.ts";
import { logMagnitudeBucket } from "../../src/protocol/bucket.ts";
import { sketchCoefficients } from "../../src/protocol/coefficients.ts";
import { sketches } from "../../src/protocol/sketch.ts";
import { FIXTURE_MODELS, readGolden } from "../model/_golden.ts";
import { cudaTest } from "./_cuda.ts";

const PRIME_Q = 2147483647;
const COEFFS = sketchCoefficients(
  "6a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff0",
);

function f32FromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0];
}

/** Deterministic floats in [-scale, scale) (xorshift32; the generator of tests/gpu/_gpu.ts). */
function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Every bf16 value (f32 bit patterns hi << 16) and ±radius float32 steps around each threshold. */
function bucketProbeBits(radius: number): number[] {
  const out: number[] = [];
  for (let hi = 0; hi < 65536; hi++) out.push(hi << 16);
  for (const t of cudaSketchParams(Int8Array.of(1)).subarray(0, 7)) {
    for (let d = -radius; d <= radius; d++) out.push(t + d, (t + d) | 0x80000000);
  }
  return out;
}

/** tests/gpu/sketch_test.ts's rows: few distinct magnitudes (frequent 16th/17th ties), zeros, NaN, ±inf. */
function tieRows(C: number, rows: number): Float32Array {
  const h = randomFloats(rows * C, 11, 40);
  for (let i = 0; i < h.length; i++) h[i] = Math.round(h[i] / 4) * 4;
  for (let r = 0; r < rows; r++) {
    const row = h.subarray(r * C, (r + 1) * C);
    if (r % 7 === 1) row.fill(0);
    if (r % 7 === 2) row.fill(-0);
    if (r % 7 === 3) row[r % C] = NaN;
    if (r % 7 === 4) row[(r * 3) % C] = Infinity;
    if (r % 7 === 5) row[(r * 5) % C] = -Infinity;
    if (r % 7 === 6) row.fill(31, 0, 40); // exact threshold value, 40-way tie
  }
  return h;
}

function withSketch<T>(fn: (kernel: CudaSketch) => T): T {
  const ctx = CudaContext.create();
  try {
    return fn(CudaSketch.compile(ctx));
  } finally {
    ctx.destroy();
  }
}

Deno.test("cudaSketchParams() thresholds equal the WebGPU kernel's float64-exact thresholds", () => {
  // Both round T_b = 2^(1.25 b) − 1 up to float32; tests/gpu/sketch_test.ts proves those bits
  // reproduce the protocol's float64 buckets for every bf16 value and ±32,768 ulps per threshold.
  deepStrictEqual(cudaSketchParams(COEFFS).subarray(0, 7), sketchThresholdBits());
});

Deno.test("cudaSketchParams() appends the coefficients as i32", () => {
  const words = cudaSketchParams(COEFFS);
  strictEqual(words.length, 7 + COEFFS.length);
  deepStrictEqual(new Int32Array(words.buffer, 28), Int32Array.from(COEFFS));
});

Deno.test("cudaSketchParams() rejects no coefficients and more than 32", () => {
  throws(() => cudaSketchParams(new Int8Array(0)), RangeError);
  throws(() => cudaSketchParams(new Int8Array(CUDA_SKETCH_MAX_K + 1)), RangeError);
});

cudaTest(
  "CudaSketch.sketches() buckets every bf16 value and every float32 within 256 ulps of a threshold like the protocol",
  () => {
    // One value per row and one coefficient of 1: the sketch is bucket(x) mod Q, compared exactly.
    const values = new Float32Array(bucketProbeBits(256).map(f32FromBits));
    const got = withSketch((k) => k.sketches(values, 1, Int8Array.of(1)));
    let checked = 0;
    for (let i = 0; i < values.length; i++) {
      const want = (logMagnitudeBucket(values[i]) + PRIME_Q) % PRIME_Q;
      if (got[i] !== want) {
        throw new Error(`value ${values[i]} (row ${i}): CUDA ${got[i]}, CPU ${want}`);
      }
      checked++;
    }
    assert(checked === 65536 + 7 * 2 * 513, `${checked} values`);
  },
);

cudaTest(
  "CudaSketch.sketches() equals the protocol's sketches() on rows full of ties, zeros, NaN and infinities",
  () => {
    // Bit-exact by construction (integer comparisons on bit patterns).
    const C = 896, rows = 384;
    const h = tieRows(C, rows);
    deepStrictEqual(withSketch((k) => k.sketches(h, C, COEFFS)), sketches(h, C, COEFFS));
  },
);

cudaTest(
  "CudaSketch.sketches() equals the protocol's sketches() for row widths below, at and above the block size",
  () => {
    // C < 128 leaves threads without elements; C = 16 picks every index; odd C has a ragged tail.
    for (const C of [16, 17, 100, 128, 129, 1000, 5120]) {
      const rows = 24;
      const h = tieRows(C, rows);
      const got = withSketch((k) => k.sketches(h, C, COEFFS));
      deepStrictEqual(got, sketches(h, C, COEFFS), `C = ${C}`);
    }
  },
);

cudaTest("CudaSketch.launch() rejects more coefficients than the row width", () => {
  withSketch((k) => {
    throws(() => k.sketches(new Float32Array(8), 8, new Int8Array(9)), RangeError);
  });
});

for (const name of FIXTURE_MODELS) {
  for (const precision of ["bf16", "f32"] as const) {
    cudaTest(
      `CudaModel.proofForward() of ${name} in ${precision} returns sketches equal to sketches(hidden)`,
      async () => {
        // Bit-exact: the kernel sketches the very f32 hidden states the result carries.
        const golden = await readGolden(name);
        const ckpt = await openCheckpoint(golden.dir);
        let model: CudaModel;
        try {
          model = await CudaModel.load(ckpt, { precision, maxRowsPerPass: 64 });
        } finally {
          ckpt.close();
        }
        try {
          const seqs = golden.seqs.map((s) => s.inputIds);
          const results = await model.proofForward(seqs, { sketchCoefficients: COEFFS });
          let positions = 0;
          results.forEach((r, s) => {
            const want = sketches(r.hidden, model.hiddenSize, COEFFS);
            deepStrictEqual(r.sketches, want, `sequence ${s}`);
            positions += want.length;
          });
          assert(positions > 64, `${positions} positions span several passes`);
        } finally {
          model.dispose();
        }
      },
    );
  }
}
