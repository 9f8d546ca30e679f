import { ok as assert, throws } from "node:assert/strict";
import { CudaContext } from "../../src/cuda/context.ts";
import { CublasLtGemm, type GemmType } from "../../src/cuda/gemm.ts";
import { bf16BitsToF32, f32ToBf16Bits } from "../../src/cuda/bf16.ts";
import { cudaTest } from "./_cuda.ts";

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 4294967296 * 2 - 1;
  }
  return out;
}

/** Y = X·Wᵀ in float64 (the inputs as the GPU sees them). */
function reference(x: Float32Array, w: Float32Array, m: number, n: number, k: number) {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += x[i * k + t] * w[j * k + t];
      y[i * n + j] = s;
    }
  }
  return y;
}

function withGemm(fn: (ctx: CudaContext, gemm: CublasLtGemm) => void): void {
  const ctx = CudaContext.create();
  const gemm = CublasLtGemm.create(ctx, { workspaceBytes: 1 << 20 });
  try {
    fn(ctx, gemm);
  } finally {
    gemm.destroy();
    ctx.destroy();
  }
}

function run(
  ctx: CudaContext,
  gemm: CublasLtGemm,
  type: GemmType,
  x: Float32Array,
  w: Float32Array,
  m: number,
  n: number,
  k: number,
  mRef = m,
): Float32Array {
  const e = type === "bf16" ? 2 : 4;
  const up = (a: Float32Array, label: string) => {
    const buf = ctx.alloc(a.length * e, label);
    ctx.upload(buf, type === "bf16" ? f32ToBf16Bits(a) : a);
    return buf;
  };
  const xb = up(x, "x"), wb = up(w, "w"), yb = ctx.alloc(m * n * 4, "y");
  gemm.run(gemm.plan({ n, k, input: type, output: "f32", mRef }), m, xb, wb, yb);
  const y = new Float32Array(m * n);
  ctx.download(y, yb);
  for (const b of [xb, wb, yb]) ctx.free(b);
  return y;
}

cudaTest("CublasLtGemm.run() computes row-major X·Wᵀ in f32 without TF32 (error < 1e-5)", () => {
  // K = 256 terms of |x·w| ≤ 1: f32 accumulation errs ~1e-6; TF32 (10-bit mantissa) would err ~1e-3.
  withGemm((ctx, gemm) => {
    const [m, n, k] = [37, 29, 256];
    const x = random(m * k, 1), w = random(n * k, 2);
    const y = run(ctx, gemm, "f32", x, w, m, n, k);
    const ref = reference(x, w, m, n, k);
    let err = 0;
    for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] - ref[i]));
    assert(err < 1e-5, `max error ${err}`);
  });
});

cudaTest("CublasLtGemm.run() multiplies bf16 inputs with f32 accumulation (error < 1e-4)", () => {
  // The reference multiplies the same bf16-rounded inputs in float64: only f32 accumulation differs.
  withGemm((ctx, gemm) => {
    const [m, n, k] = [64, 48, 512];
    const x = bf16BitsToF32(f32ToBf16Bits(random(m * k, 3)));
    const w = bf16BitsToF32(f32ToBf16Bits(random(n * k, 4)));
    const y = run(ctx, gemm, "bf16", x, w, m, n, k);
    const ref = reference(x, w, m, n, k);
    let err = 0;
    for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] - ref[i]));
    assert(err < 1e-4, `max error ${err}`);
  });
});

cudaTest("CublasLtGemm.run() gives a row the same bits at any M with the pinned algorithm", () => {
  // Bit-exact: the plan's algorithm has no split-K, so a row's sum never depends on M.
  withGemm((ctx, gemm) => {
    const [m, n, k] = [512, 896, 896];
    const x = random(m * k, 5), w = random(n * k, 6);
    for (const type of ["bf16", "f32"] as const) {
      const all = run(ctx, gemm, type, x, w, m, n, k, m);
      for (const [start, rows] of [[0, 1], [100, 7], [333, 64]]) {
        const part = run(
          ctx,
          gemm,
          type,
          x.subarray(start * k, (start + rows) * k),
          w,
          rows,
          n,
          k,
          m,
        );
        const want = all.subarray(start * n, (start + rows) * n);
        const a = new Uint32Array(part.buffer), b = new Uint32Array(want.slice().buffer);
        for (let i = 0; i < a.length; i++) {
          if (a[i] !== b[i]) throw new Error(`${type} rows ${start}+${rows}: element ${i} differs`);
        }
      }
    }
  });
});

cudaTest("CublasLtGemm.plan() pins an algorithm without split-K", () => {
  withGemm((_ctx, gemm) => {
    const plan = gemm.plan({ n: 4864 * 2, k: 896, input: "bf16", output: "bf16", mRef: 4096 });
    assert(plan.info.splitK <= 1 && plan.info.reduction === 0, JSON.stringify(plan.info));
  });
});

cudaTest("CublasLtGemm.plan() rejects non-positive sizes", () => {
  withGemm((_ctx, gemm) => {
    throws(() => gemm.plan({ n: 0, k: 8, input: "f32", output: "f32", mRef: 8 }), RangeError);
  });
});
