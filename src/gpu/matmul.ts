/**
 * Tiled, register-blocked matrix product y = x · wᵀ (+ bias) (+ y) over a chunked weight.
 *
 * @module
 */

import code from "../../shaders/matmul.wgsl" with { type: "text" };
import type { Dispatch, GpuContext } from "./context.ts";
import type { GpuMatrix, WeightDType } from "./weights.ts";
import { GpuError } from "./gpu_error.ts";

/** Tile shape: a workgroup computes BM×BN outputs, each thread TM×TN of them, BK k per step.
 * The shader holds TM = TN = 8 (two vec4 groups each way) in named registers. */
export interface MatmulTiles {
  /** Rows (M) per workgroup. */
  bm: number;
  /** Columns (N) per workgroup. */
  bn: number;
  /** K per shared-memory step. */
  bk: number;
  /** Rows per thread (multiple of 4). */
  tm: number;
  /** Columns per thread (multiple of 4). */
  tn: number;
  /** Load the next k tile into registers during this tile's products (entry point
   * matmul_tiled_prefetch instead of matmul_tiled). Same bits either way. Default: on for f32
   * weights, off for f16 (H200, one 0.5B gate_up: f32 12.8 → 10.8 ms; f16 7.8 → 11.4 ms). */
  prefetch?: boolean;
  /** Few-rows kernel ({@link MatmulKernel.bindRows}) for weights of fewer than
   * {@link MATMUL_ROWS_WIDE_N} rows; default from {@link MATMUL_ROWS_DEFAULTS}. */
  rows?: MatmulRowsShape;
  /** Few-rows kernel for weights of at least {@link MATMUL_ROWS_WIDE_N} rows (gate_up, lm_head);
   * default from {@link MATMUL_ROWS_DEFAULTS}. */
  rowsWide?: MatmulRowsShape;
}

/**
 * One few-rows (decode) kernel and its shape. Kernels (shaders/matmul.wgsl):
 * - "output": `matmul_rows`, one thread per output (row, column), 16 · bn threads;
 * - "quad": `matmul_rows_quad`, one thread per 4 rows of a column (a vec4), 4 · bn threads;
 * - "column": `matmul_rows_column`, one thread per column holding all 16 row sums, bn threads
 *   (the kernel of commit d0f6bf5; bk is unused, it stages the tiled kernel's BK);
 * - "packed": `matmul_rows_packed`, "quad"'s geometry with "column"'s exact conversions and fma
 *   (bk <= 4 · bn, w vec4s 1, 2 or 4 per thread).
 *
 * f32: all four give matmul_tiled's bits. f16: "column" and "packed" do (tested on the H200);
 * "output" and "quad" are faster but give other f16 bits (≈ 99 % of outputs differ, by up to
 * 1.6e-4 on the 0.5B shape), so with f16 weights generated positions are no longer bit-equal to
 * the proof forward (hidden states up to 0.017 apart, log-probs up to 0.004 after 24 layers) —
 * opt in knowingly.
 */
export interface MatmulRowsShape {
  /** Which entry point. */
  kernel: "output" | "quad" | "column" | "packed";
  /** Columns per workgroup: "output"/"quad" a multiple of 4 such that each thread stages 1, 2
   * or 4 vec4s of x and of w per step ("output": w 1 or 2); "column" a multiple of 32. */
  bn: number;
  /** K per staging step ("output"/"quad"): 16, 32, 64 or 128. */
  bk: number;
}

/** Small tiles: 16 threads, 4 KiB of workgroup memory; for software adapters and tiny models.
 * Decode runs one thread per column there ("column"): on llvmpipe it beat one thread per output
 * 11.6 to 35.6 ms (16 × 1,152 × 896). */
export const MATMUL_TILES_SMALL: MatmulTiles = {
  bm: 32,
  bn: 32,
  bk: 16,
  tm: 8,
  tn: 8,
  rows: { kernel: "column", bn: 64, bk: 16 },
  rowsWide: { kernel: "column", bn: 64, bk: 16 },
};
/** Large tiles: 256 threads, 8×8 outputs each, 32 KiB of workgroup memory; for big GPUs. */
export const MATMUL_TILES_LARGE: MatmulTiles = { bm: 128, bn: 128, bk: 32, tm: 8, tn: 8 };

/** Most rows {@link MatmulKernel.bindRows} takes (a workgroup holds every row of its columns). */
export const MATMUL_ROWS_MAX = 16;
/** Weights with at least this many rows use {@link MatmulTiles.rowsWide}. */
export const MATMUL_ROWS_WIDE_N = 4096;
/** Default few-rows kernels per weight dtype (H200, 0.5B shape, 16 rows, GPU µs, old "column"
 * kernel → default; f32: down 706 → 47, gate_up 136 → 36, qkv 134 → 15, o 134 → 13, lm_head
 * 405 → 322; f16: down 831 → 491, qkv 424 → 254, o 492 → 294, gate_up and lm_head unchanged).
 * f32: "output" with 8 columns per workgroup (down_proj's 896 columns make 112 workgroups of 128
 * threads) and "quad" with 32 for wide weights; f16: "packed", and "column" for wide weights
 * (where "packed" is slower) — the f16 kernels with the tiled kernel's bits. */
export const MATMUL_ROWS_DEFAULTS: Readonly<
  Record<WeightDType, { readonly rows: MatmulRowsShape; readonly rowsWide: MatmulRowsShape }>
> = {
  f32: {
    rows: { kernel: "output", bn: 8, bk: 128 },
    rowsWide: { kernel: "quad", bn: 32, bk: 32 },
  },
  f16: {
    rows: { kernel: "packed", bn: 16, bk: 64 },
    rowsWide: { kernel: "column", bn: 64, bk: 32 },
  },
};

const ROWS_ENTRY = {
  output: "matmul_rows",
  quad: "matmul_rows_quad",
  column: "matmul_rows_column",
  packed: "matmul_rows_packed",
} as const;

/** Matmul flags (see matmul.wgsl). */
const FLAG_BIAS = 1;
const FLAG_ACCUMULATE = 2;

/** What one matmul reads and writes. */
export interface MatmulArgs {
  /** Run uniform (rows, x_row_offset). */
  run: GPUBuffer;
  /** Input [M, K] f32. */
  x: GPUBuffer;
  /** Weight [N, K], possibly chunked by rows. */
  w: GpuMatrix;
  /** Output [M, ldY] f32. */
  y: GPUBuffer;
  /** Output row stride; default N. */
  ldY?: number;
  /** Bias [N] f32, or undefined. */
  bias?: GPUBuffer;
  /** Add into y (a residual connection). */
  accumulate?: boolean;
}

/**
 * The matmul kernel family: one pipeline per (weight dtype, tile shape).
 *
 * @example
 * ```ts
 * import { encodeDispatch, GpuContext } from "./context.ts";
 * import { MATMUL_TILES_SMALL, MatmulKernel } from "./matmul.ts";
 * import { allocMatrix, writeRows } from "./weights.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const mm = await MatmulKernel.create(ctx, "f32", MATMUL_TILES_SMALL);
 *   const w = allocMatrix(ctx, 2, 4, "f32", "w"); // [N = 2, K = 4]
 *   writeRows(ctx, w, 0, new Float32Array([1, 1, 1, 1, 1, 2, 3, 4]));
 *   const [x, y] = [ctx.storage(16, "x"), ctx.storage(8, "y")];
 *   ctx.write(x, 0, new Float32Array([1, 2, 3, 4])); // M = 1
 *   const run = ctx.uniform(new Uint32Array([1, 0, 0, 0]), "run");
 *   const enc = ctx.device.createCommandEncoder();
 *   const pass = enc.beginComputePass();
 *   for (const op of mm.bind({ run, x, w, y })) encodeDispatch(pass, op, 1);
 *   pass.end();
 *   ctx.device.queue.submit([enc.finish()]);
 *   const out = new Float32Array(await ctx.read(y, 0, 2 * 4));
 *   ctx.destroy();
 *   if (out[0] !== 10 || out[1] !== 30) throw new Error(`unexpected ${out}`);
 * }
 * ```
 */
export class MatmulKernel {
  /** The tile shape compiled in. */
  readonly tiles: MatmulTiles;
  /** The weight element type compiled in. */
  readonly dtype: WeightDType;
  readonly #ctx: GpuContext;
  readonly #pipeline: GPUComputePipeline;
  readonly #rowsPipeline: GPUComputePipeline;
  readonly #rowsWidePipeline: GPUComputePipeline;
  readonly #dummy: GPUBuffer;

  private constructor(
    ctx: GpuContext,
    dtype: WeightDType,
    tiles: MatmulTiles,
    p: GPUComputePipeline,
    rows: GPUComputePipeline,
    rowsWide: GPUComputePipeline,
  ) {
    this.#ctx = ctx;
    this.dtype = dtype;
    this.tiles = tiles;
    this.#pipeline = p;
    this.#rowsPipeline = rows;
    this.#rowsWidePipeline = rowsWide;
    this.#dummy = ctx.storage(16, "matmul-no-bias");
  }

  /**
   * Compiles the kernel.
   *
   * @param ctx The context.
   * @param dtype Weight element type ("f16" needs `shader-f16`).
   * @param tiles Tile shape.
   * @returns The kernel.
   * @throws {GpuError} When the tiles do not fit the device or f16 is unavailable.
   */
  static async create(
    ctx: GpuContext,
    dtype: WeightDType,
    tiles: MatmulTiles,
  ): Promise<MatmulKernel> {
    const { bm, bn, bk, tm, tn } = tiles;
    const threads = (bm / tm) * (bn / tn);
    // Tiles hold the compute type (f16: 2 bytes).
    const shared = (dtype === "f16" ? 2 : 4) * bk * (bm + bn);
    // Each thread prefetches at most 4 items (4 × 4 blocks of x or w) per k tile.
    const itemsPerThread = Math.ceil(((bm + bn) / 4) * (bk / 4) / threads);
    if (
      tm !== 8 || tn !== 8 || bk % 4 !== 0 || bm % 32 !== 0 || bn % 32 !== 0 ||
      itemsPerThread > 4 || threads > ctx.limits.maxComputeInvocationsPerWorkgroup ||
      shared > ctx.limits.maxComputeWorkgroupStorageSize
    ) {
      throw new GpuError(
        "limits",
        `Matmul tiles ${
          JSON.stringify(tiles)
        } do not fit this device (${threads} threads, ${shared} bytes of workgroup memory, ${itemsPerThread} tile loads per thread of at most 4); pick smaller tiles`,
      );
    }
    if (dtype === "f16" && !ctx.hasF16) {
      throw new GpuError(
        "limits",
        "f16 weights need the shader-f16 feature, which this adapter lacks",
      );
    }
    const rowsShape = tiles.rows ?? MATMUL_ROWS_DEFAULTS[dtype].rows;
    const rowsWideShape = tiles.rowsWide ?? MATMUL_ROWS_DEFAULTS[dtype].rowsWide;
    for (const r of [rowsShape, rowsWideShape]) checkRowsShape(ctx, dtype, r);
    const entry = (tiles.prefetch ?? dtype === "f32") ? "matmul_tiled_prefetch" : "matmul_tiled";
    const header = `${dtype === "f16" ? "enable f16;\n" : ""}alias WT = ${dtype};
alias CT = ${dtype};
const SPLIT: bool = ${dtype === "f16"};
const BM_M: u32 = ${bm}u;
const BM_N: u32 = ${bn}u;
const BK: u32 = ${bk}u;
const PREFETCH: bool = ${entry === "matmul_tiled_prefetch"};
`;
    const layout = ["uniform", "uniform", "read", "read", "read", "read_write"] as const;
    const label = `matmul-${dtype}-${bm}x${bn}-${entry}`;
    // The module's few-rows constants (unused by the tiled entry points, but declared).
    const rowsHeader = (r: MatmulRowsShape) =>
      `const ROWS_BN: u32 = ${r.bn}u;
const ROWS_BK: u32 = ${r.bk}u;
const ROWS_RPT: u32 = ${r.kernel === "output" || r.kernel === "column" ? 1 : 4}u;
const ROWS_COL_WG: u32 = ${r.bn}u;
`;
    const p = await ctx.pipeline(header + rowsHeader(rowsShape) + code, entry, {}, label, layout);
    const rowsPipeline = (r: MatmulRowsShape) => {
      const rowsEntry = ROWS_ENTRY[r.kernel];
      const name = `${label}-${rowsEntry}-${r.bn}x${r.bk}`;
      return ctx.pipeline(header + rowsHeader(r) + code, rowsEntry, {}, name, layout);
    };
    const rows = await rowsPipeline(rowsShape);
    const same = JSON.stringify(rowsShape) === JSON.stringify(rowsWideShape);
    const rowsWide = same ? rows : await rowsPipeline(rowsWideShape);
    const compiled = { ...tiles, rows: rowsShape, rowsWide: rowsWideShape };
    return new MatmulKernel(ctx, dtype, compiled, p, rows, rowsWide);
  }

  /**
   * Binds one matmul: one dispatch per weight chunk (columns [rowStart, rowStart + rows) of y).
   *
   * @param a Buffers and layout.
   * @returns The dispatches, encoded in order.
   * @throws {GpuError} When K is not a multiple of 4 or the dtype differs from the kernel's.
   */
  bind(a: MatmulArgs): Dispatch[] {
    const { bm, bn } = this.tiles;
    return this.#bindWith(
      a,
      this.#pipeline,
      (n) => (rows) => [Math.ceil(n / bn), Math.ceil(rows / bm), 1],
    );
  }

  /**
   * Binds the same product for at most {@link MATMUL_ROWS_MAX} rows (decode) through the
   * few-rows kernel of {@link MatmulTiles.rows} (or {@link MatmulTiles.rowsWide} for weights of at
   * least {@link MATMUL_ROWS_WIDE_N} rows): spread over 16 · N threads (or 4 · N, or N) instead
   * of N / BN workgroups. Each output is the same fma chain in the same k order as in
   * {@link bind}, so the bits are identical — for f16 weights only with the "column" and
   * "packed" kernels, the defaults (see {@link MatmulRowsShape}).
   *
   * @param a Buffers and layout.
   * @returns The dispatches (their grid ignores rows beyond MATMUL_ROWS_MAX: do not pass more).
   * @throws {GpuError} As {@link bind}, and when a chunk needs more workgroups than the device
   * allows in one dimension.
   */
  bindRows(a: MatmulArgs): Dispatch[] {
    const wide = a.w.rows >= MATMUL_ROWS_WIDE_N;
    const shape = (wide ? this.tiles.rowsWide : this.tiles.rows)!;
    const most = this.#ctx.limits.maxComputeWorkgroupsPerDimension;
    for (const chunk of a.w.chunks) {
      if (Math.ceil(chunk.rows / shape.bn) > most) {
        throw new GpuError(
          "limits",
          `Few-rows matmul over ${chunk.rows} weight rows needs ${
            Math.ceil(chunk.rows / shape.bn)
          } workgroups, more than this device's ${most}; split the weight into smaller chunks`,
        );
      }
    }
    return this.#bindWith(
      a,
      wide ? this.#rowsWidePipeline : this.#rowsPipeline,
      (n) => () => [Math.ceil(n / shape.bn), 1, 1],
    );
  }

  #bindWith(
    a: MatmulArgs,
    pipeline: GPUComputePipeline,
    grid: (n: number) => (rows: number) => [number, number, number],
  ): Dispatch[] {
    const { w } = a;
    if (w.cols % 4 !== 0) {
      throw new GpuError("shape", `Matmul needs K to be a multiple of 4, got K = ${w.cols}`);
    }
    if (w.dtype !== this.dtype) {
      throw new GpuError("shape", `Matmul kernel is ${this.dtype} but the weight is ${w.dtype}`);
    }
    const ldY = a.ldY ?? w.rows;
    const flags = (a.bias ? FLAG_BIAS : 0) | (a.accumulate ? FLAG_ACCUMULATE : 0);
    return w.chunks.map((chunk) => {
      const params = this.#ctx.uniform(
        new Uint32Array([chunk.rows, w.cols, ldY, chunk.rowStart, chunk.rowStart, flags, 0, 0]),
        "matmul-params",
      );
      const bindGroup = this.#ctx.bindGroup(
        pipeline,
        [a.run, params, a.x, chunk.buffer, a.bias ?? this.#dummy, a.y],
        "matmul",
      );
      return { pipeline, bindGroup, grid: grid(chunk.rows) };
    });
  }
}

/** Refuses a few-rows shape whose staging the kernel does not implement or the device cannot
 * hold. */
function checkRowsShape(ctx: GpuContext, dtype: WeightDType, r: MatmulRowsShape): void {
  const bytes = dtype === "f16" ? 2 : 4;
  let threads = r.bn;
  let shared = 0;
  let ok = Number.isInteger(r.bn) && r.bn > 0;
  let staging = "";
  if (r.kernel === "column") {
    ok &&= r.bn % 32 === 0;
  } else if (r.kernel === "output" || r.kernel === "quad" || r.kernel === "packed") {
    const perThread = r.kernel === "output" ? 1 : 4;
    threads = (MATMUL_ROWS_MAX / perThread) * r.bn;
    const xPer = (MATMUL_ROWS_MAX * r.bk / 4) / threads;
    const wPer = (r.bn * r.bk / 4) / threads;
    // x [16, bk] and w [bn, bk] staged, rows padded by one vec4 ("packed": w in f32).
    shared = r.kernel === "packed"
      ? bytes * MATMUL_ROWS_MAX * r.bk + 4 * r.bn * (r.bk + 4)
      : bytes * (MATMUL_ROWS_MAX + r.bn) * (r.bk + 4);
    staging = `, ${xPer} x and ${wPer} w vec4s staged per thread`;
    ok &&= [16, 32, 64, 128].includes(r.bk) && r.bn % 4 === 0 &&
      (perThread === 4 ? [1, 2, 4] : [1, 2]).includes(wPer) &&
      (r.kernel === "packed" ? r.bk <= 4 * r.bn : [1, 2, 4].includes(xPer));
  } else {
    ok = false;
  }
  if (
    !ok || threads > ctx.limits.maxComputeInvocationsPerWorkgroup ||
    threads > ctx.device.limits.maxComputeWorkgroupSizeX ||
    shared > ctx.limits.maxComputeWorkgroupStorageSize
  ) {
    throw new GpuError(
      "limits",
      `Few-rows matmul shape ${
        JSON.stringify(r)
      } is not supported here for ${dtype} (${threads} threads, ${shared} bytes of workgroup memory${staging}); expected kernel "output" or "quad" with bk 16, 32, 64 or 128 and bn a multiple of 4 staging 1, 2 or 4 vec4s of x and of w per thread ("output": w 1 or 2), or "column" with bn a multiple of 32; pick MATMUL_ROWS_DEFAULTS`,
    );
  }
}
