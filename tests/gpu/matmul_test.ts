import { ok as assert, rejects } from "node:assert/strict";
import { encodeDispatch, type GpuContext } from "../../src/gpu/context.ts";
import {
  MATMUL_ROWS_WIDE_N,
  MATMUL_TILES_SMALL,
  MatmulKernel,
  type MatmulRowsShape,
  type MatmulTiles,
} from "../../src/gpu/matmul.ts";
import { GpuError } from "../../src/gpu/gpu_error.ts";
import { allocMatrix, type WeightDType, writeRows } from "../../src/gpu/weights.ts";
import { gpuF16Test, gpuTest, maxAbsDiff, randomFloats, sameBits, withContext } from "./_gpu.ts";

async function runMatmul(
  ctx: GpuContext,
  tiles: MatmulTiles,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  y0: Float32Array | null,
  M: number,
  N: number,
  K: number,
  maxChunkBytes?: number,
  fewRows = false,
  dtype: WeightDType = "f32",
): Promise<Float32Array> {
  const kernel = await MatmulKernel.create(ctx, dtype, tiles);
  const run = ctx.uniform(new Uint32Array([M, 0, 0, 0]), "run");
  const xb = ctx.storage(x.byteLength, "x");
  ctx.write(xb, 0, x);
  const wm = allocMatrix(ctx, N, K, dtype, "w", maxChunkBytes);
  writeRows(ctx, wm, 0, w);
  const yb = ctx.storage(M * N * 4, "y");
  if (y0) ctx.write(yb, 0, y0);
  let bb: GPUBuffer | undefined;
  if (bias) {
    bb = ctx.storage(bias.byteLength, "b");
    ctx.write(bb, 0, bias);
  }
  const args = { run, x: xb, w: wm, y: yb, bias: bb, accumulate: y0 !== null };
  const ops = fewRows ? kernel.bindRows(args) : kernel.bind(args);
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (const op of ops) encodeDispatch(pass, op, M);
  pass.end();
  ctx.device.queue.submit([enc.finish()]);
  const out = new Float32Array(await ctx.read(yb, 0, M * N * 4));
  ctx.checkAlive();
  return out;
}

gpuTest("MatmulKernel.bind() computes y + x·wᵀ + b within 1e-5 of a float64 product", async () => {
  // f32 fma chains over K = 52 terms of size ~1: rounding stays far below 1e-5.
  const M = 37, N = 70, K = 52;
  const x = randomFloats(M * K, 1), w = randomFloats(N * K, 2), b = randomFloats(N, 3);
  const y0 = randomFloats(M * N, 4);
  const y = await withContext((ctx) => runMatmul(ctx, MATMUL_TILES_SMALL, x, w, b, y0, M, N, K));
  const ref = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      ref[m * N + n] = y0[m * N + n] + s + b[n];
    }
  }
  const d = maxAbsDiff(y, ref);
  assert(d < 1e-5, `max abs diff ${d}`);
});

gpuTest(
  "MatmulKernel.bind() gives the same bits for any tiles, batch position and weight chunking",
  async () => {
    const M = 21, N = 45, K = 64;
    const x = randomFloats(M * K, 5), w = randomFloats(N * K, 6);
    await withContext(async (ctx) => {
      const base = await runMatmul(ctx, MATMUL_TILES_SMALL, x, w, null, null, M, N, K);
      // MATMUL_TILES_LARGE's 256-thread shader takes llvmpipe over a minute to compile; the
      // shapes below exercise the same code with other BM, BN and BK.
      const wide = await runMatmul(
        ctx,
        { bm: 32, bn: 64, bk: 4, tm: 8, tn: 8 },
        x,
        w,
        null,
        null,
        M,
        N,
        K,
      );
      assert(sameBits(base, wide), "BK = 4 changed the bits");
      const other = await runMatmul(
        ctx,
        { bm: 64, bn: 32, bk: 8, tm: 8, tn: 8 },
        x,
        w,
        null,
        null,
        M,
        N,
        K,
      );
      assert(sameBits(base, other), "tile shape changed the bits");
      // Weight split into 7-row chunks (as a too-large lm_head would be).
      const chunked = await runMatmul(
        ctx,
        MATMUL_TILES_SMALL,
        x,
        w,
        null,
        null,
        M,
        N,
        K,
        7 * K * 4,
      );
      assert(sameBits(base, chunked), "chunking changed the bits");
      // Row 13 alone.
      const alone = await runMatmul(
        ctx,
        MATMUL_TILES_SMALL,
        x.slice(13 * K, 14 * K),
        w,
        null,
        null,
        1,
        N,
        K,
      );
      assert(sameBits(alone, base.slice(13 * N, 14 * N)), "batch changed the bits");
    });
  },
);

gpuTest("MatmulKernel.bindRows() gives the same bits as bind() for 1 to 16 rows", async () => {
  // Decode uses bindRows, the proof forward bind: generation must reproduce the proof forward.
  const N = 70, K = 96;
  const w = randomFloats(N * K, 91), b = randomFloats(N, 92);
  await withContext(async (ctx) => {
    for (const M of [1, 5, 16]) {
      const x = randomFloats(M * K, 93 + M), y0 = randomFloats(M * N, 94);
      const tiled = await runMatmul(ctx, MATMUL_TILES_SMALL, x, w, b, y0, M, N, K);
      const rows = await runMatmul(ctx, MATMUL_TILES_SMALL, x, w, b, y0, M, N, K, 40 * K * 4, true);
      assert(sameBits(tiled, rows), `${M} rows`);
    }
  });
});

gpuTest(
  "MatmulKernel.bindRows() gives the same bits as bind() for every few-rows kernel, shape and k tail",
  async () => {
    // K = 300 spans three 128-long staging steps; with BK = 4 the chain's last step holds 11 k
    // quads (the unrolled loop's remainder runs), with BK = 16 it ends on a zero-filled BK tile.
    // N = 37 leaves a partial workgroup of columns for every bn.
    const N = 37, K = 300;
    const w = randomFloats(N * K, 71), b = randomFloats(N, 72);
    const shapes: MatmulRowsShape[] = [
      { kernel: "output", bn: 4, bk: 64 },
      { kernel: "output", bn: 8, bk: 64 },
      { kernel: "output", bn: 16, bk: 64 },
      { kernel: "output", bn: 16, bk: 128 },
      { kernel: "quad", bn: 16, bk: 64 },
      { kernel: "quad", bn: 8, bk: 32 },
      { kernel: "packed", bn: 16, bk: 64 },
      { kernel: "packed", bn: 8, bk: 16 },
      { kernel: "output", bn: 8, bk: 128 },
      { kernel: "quad", bn: 32, bk: 32 },
      { kernel: "column", bn: 64, bk: 32 },
    ];
    await withContext(async (ctx) => {
      for (const bk of [4, 16]) {
        const base: MatmulTiles = { bm: 32, bn: 32, bk, tm: 8, tn: 8 };
        // 16 rows with BK = 4, 3 with BK = 16.
        const M = bk === 4 ? 16 : 3;
        const x = randomFloats(M * K, 73 + M), y0 = randomFloats(M * N, 74);
        const tiled = await runMatmul(ctx, base, x, w, b, y0, M, N, K);
        // BK = 16 only for the default shapes (each pipeline costs llvmpipe seconds to compile).
        for (const shape of bk === 4 ? shapes : shapes.slice(-3)) {
          const tiles = { ...base, rows: shape };
          const rows = await runMatmul(ctx, tiles, x, w, b, y0, M, N, K, undefined, true);
          assert(sameBits(tiled, rows), `BK ${bk}, ${M} rows, ${JSON.stringify(shape)}`);
        }
      }
    });
  },
);

gpuTest(
  "MatmulKernel.bindRows() uses rowsWide from MATMUL_ROWS_WIDE_N weight rows on, same bits",
  async () => {
    const M = 5, N = MATMUL_ROWS_WIDE_N + 36, K = 32;
    const x = randomFloats(M * K, 61), w = randomFloats(N * K, 62);
    const tiles: MatmulTiles = {
      ...MATMUL_TILES_SMALL,
      rows: { kernel: "output", bn: 8, bk: 64 },
      rowsWide: { kernel: "quad", bn: 32, bk: 32 },
    };
    await withContext(async (ctx) => {
      const kernel = await MatmulKernel.create(ctx, "f32", tiles);
      const [run, y] = [ctx.uniform(new Uint32Array(4), "run"), ctx.storage(16, "y")];
      const wide = kernel.bindRows({ run, x: y, w: allocMatrix(ctx, N, K, "f32", "w"), y });
      assert(wide[0].grid(M)[0] === Math.ceil(N / 32), `grid ${wide[0].grid(M)}`);
      const narrow = kernel.bindRows({ run, x: y, w: allocMatrix(ctx, N - 40, K, "f32", "w"), y });
      assert(narrow[0].grid(M)[0] === Math.ceil((N - 40) / 8), `grid ${narrow[0].grid(M)}`);
      const tiled = await runMatmul(ctx, tiles, x, w, null, null, M, N, K);
      const rows = await runMatmul(ctx, tiles, x, w, null, null, M, N, K, undefined, true);
      assert(sameBits(tiled, rows), "wide weight");
    });
  },
);

gpuTest("MatmulKernel.create() refuses a few-rows shape it cannot stage", async () => {
  await withContext(async (ctx) => {
    // 16 · 32 / (16 · 12) is not a whole number of x vec4s per thread.
    const rows: MatmulRowsShape = { kernel: "output", bn: 12, bk: 128 };
    await rejects(
      MatmulKernel.create(ctx, "f32", { ...MATMUL_TILES_SMALL, rows }),
      (e) => e instanceof GpuError && e.message.includes(JSON.stringify(rows)),
    );
  });
});

gpuTest(
  "MatmulKernel.bind() gives the same bits with and without the register prefetch",
  async () => {
    // K = 72 spans several k tiles with a partial last one (BK = 16).
    const M = 13, N = 40, K = 72;
    const x = randomFloats(M * K, 11), w = randomFloats(N * K, 12);
    await withContext(async (ctx) => {
      const on = await runMatmul(ctx, MATMUL_TILES_SMALL, x, w, null, null, M, N, K);
      const off = await runMatmul(
        ctx,
        { ...MATMUL_TILES_SMALL, prefetch: false },
        x,
        w,
        null,
        null,
        M,
        N,
        K,
      );
      assert(sameBits(on, off), "the prefetch changed the bits");
    });
  },
);

gpuF16Test(
  "MatmulKernel.bindRows() gives the same bits as bind() in f16 with the column and packed kernels (the f16 defaults)",
  async () => {
    // f16 decode uses bindRows too: both sum each k tile in f16 and the tiles in f32, in one order.
    // K = 296: 19 BK tiles of 16, the last zero-filled past K; N = 70 a partial workgroup.
    const N = 70, K = 296;
    const w = randomFloats(N * K, 81), b = randomFloats(N, 82);
    await withContext(async (ctx) => {
      for (const M of [1, 5, 16]) {
        const x = randomFloats(M * K, 83 + M), y0 = randomFloats(M * N, 84);
        const args = [x, w, b, y0, M, N, K, 40 * K * 2] as const;
        const tiled = await runMatmul(ctx, MATMUL_TILES_SMALL, ...args, false, "f16");
        const shapes: MatmulRowsShape[] = [
          { kernel: "column", bn: 64, bk: 16 },
          { kernel: "column", bn: 32, bk: 16 },
          { kernel: "packed", bn: 16, bk: 64 },
          { kernel: "packed", bn: 32, bk: 32 },
        ];
        for (const shape of shapes) {
          const tiles = { ...MATMUL_TILES_SMALL, rows: shape };
          const rows = await runMatmul(ctx, tiles, ...args, true, "f16");
          assert(sameBits(tiled, rows), `${M} rows, ${JSON.stringify(shape)}`);
        }
      }
    });
  },
);

gpuF16Test(
  "MatmulKernel.bindRows() in f16 with the opt-in output and quad kernels stays within the f16 rounding bound of bind()",
  async () => {
    // These kernels' f16 sums may round differently (not bit-equal on the H200). Bound: each of
    // the K f16 fmas may round its partial differently by at most one f16 ulp of the largest
    // partial (|x|, |w| < 1, so a 16-k tile partial stays below 16: ulp 2^-6), so outputs differ
    // by at most K · 2^-6 plus the f32 sum's rounding; the observed difference is far smaller.
    const M = 16, N = 70, K = 296;
    const w = randomFloats(N * K, 85), x = randomFloats(M * K, 86);
    await withContext(async (ctx) => {
      const args = [x, w, null, null, M, N, K, undefined] as const;
      const tiled = await runMatmul(ctx, MATMUL_TILES_SMALL, ...args, false, "f16");
      const shapes: MatmulRowsShape[] = [
        { kernel: "output", bn: 8, bk: 128 },
        { kernel: "quad", bn: 16, bk: 64 },
      ];
      for (const rows of shapes) {
        const out = await runMatmul(ctx, { ...MATMUL_TILES_SMALL, rows }, ...args, true, "f16");
        const d = maxAbsDiff(out, Float64Array.from(tiled));
        assert(d <= K * 2 ** -6, `${JSON.stringify(rows)}: max abs diff ${d}`);
      }
    });
  },
);

gpuF16Test(
  "MatmulKernel.bind() in f16 gives the same bits with and without the register prefetch",
  async () => {
    // Both entry points sum each k tile in f16 and the tiles in f32, in one order.
    const M = 45, N = 70, K = 72;
    const x = randomFloats(M * K, 17), w = randomFloats(N * K, 18), b = randomFloats(N, 19);
    await withContext(async (ctx) => {
      const args = [x, w, b, null, M, N, K, undefined, false, "f16"] as const;
      const base = await runMatmul(ctx, MATMUL_TILES_SMALL, ...args);
      const pre = await runMatmul(ctx, { ...MATMUL_TILES_SMALL, prefetch: true }, ...args);
      assert(sameBits(base, pre), "the prefetch changed the f16 bits");
    });
  },
);
