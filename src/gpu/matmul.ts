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
  /** Columns per workgroup of the few-rows kernel ({@link MatmulKernel.bindRows}): a multiple of
   * 4 such that each thread stages 1, 2 or 4 vec4s of x and of w per step (f32: 16 · rowsBn
   * threads, one output each; f16: 4 · rowsBn threads, 4 rows each). Same bits for any value.
   * Default from {@link MATMUL_ROWS_SHAPE}. */
  rowsBn?: number;
  /** K per staging step of the few-rows kernel: 16, 32, 64 or 128. Same bits for any value.
   * Default from {@link MATMUL_ROWS_SHAPE}. */
  rowsBk?: number;
  /** Rows per thread of the few-rows kernel: 1 (matmul_rows, one output per thread) or 4
   * (matmul_rows_quad, 4 rows of one column in a vec4). f16 needs 4; default 1 for f32. Same
   * bits either way. */
  rowsRpt?: 1 | 4;
}

/** Small tiles: 16 threads, 4 KiB of workgroup memory; for software adapters and tiny models. */
export const MATMUL_TILES_SMALL: MatmulTiles = { bm: 32, bn: 32, bk: 16, tm: 8, tn: 8 };
/** Large tiles: 256 threads, 8×8 outputs each, 32 KiB of workgroup memory; for big GPUs. */
export const MATMUL_TILES_LARGE: MatmulTiles = { bm: 128, bn: 128, bk: 32, tm: 8, tn: 8 };

/** Most rows {@link MatmulKernel.bindRows} takes (a workgroup holds every row of its columns). */
export const MATMUL_ROWS_MAX = 16;
/** Default few-rows kernel shape per weight dtype. f32: 16 rows × 8 columns = 128 threads, one
 * output each (down_proj's 896 columns make 112 workgroups), 128 k per step; f16: 4 × 16
 * threads, 4 rows each, 64 k per step. */
export const MATMUL_ROWS_SHAPE: Readonly<
  Record<WeightDType, { readonly rowsBn: number; readonly rowsBk: number }>
> = {
  f32: { rowsBn: 8, rowsBk: 128 },
  f16: { rowsBn: 16, rowsBk: 64 },
};

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
  readonly #dummy: GPUBuffer;

  private constructor(
    ctx: GpuContext,
    dtype: WeightDType,
    tiles: MatmulTiles,
    p: GPUComputePipeline,
    rows: GPUComputePipeline,
  ) {
    this.#ctx = ctx;
    this.dtype = dtype;
    this.tiles = tiles;
    this.#pipeline = p;
    this.#rowsPipeline = rows;
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
    const rowsBn = tiles.rowsBn ?? MATMUL_ROWS_SHAPE[dtype].rowsBn;
    const rowsBk = tiles.rowsBk ?? MATMUL_ROWS_SHAPE[dtype].rowsBk;
    // f16 keeps matmul_tiled's packed vec4 fma (4 rows per thread): scalar f16 fmas rounded
    // differently on the H200.
    const rowsPerThread = tiles.rowsRpt ?? (dtype === "f16" ? 4 : 1);
    const rowsThreads = (MATMUL_ROWS_MAX / rowsPerThread) * rowsBn;
    const xPerThread = (MATMUL_ROWS_MAX * rowsBk / 4) / rowsThreads;
    const wPerThread = (rowsBn * rowsBk / 4) / rowsThreads;
    // The few-rows kernels stage x [16, rowsBk] and w [rowsBn, rowsBk], rows padded by one vec4.
    const rowsShared = (dtype === "f16" ? 2 : 4) * (MATMUL_ROWS_MAX + rowsBn) * (rowsBk + 4);
    if (
      (dtype === "f16" && rowsPerThread !== 4) || ![1, 4].includes(rowsPerThread) ||
      ![16, 32, 64, 128].includes(rowsBk) || rowsBn % 4 !== 0 || rowsBn < 4 ||
      ![1, 2, 4].includes(xPerThread) ||
      !(rowsPerThread === 4 ? [1, 2, 4] : [1, 2]).includes(wPerThread) ||
      rowsThreads > ctx.limits.maxComputeInvocationsPerWorkgroup ||
      rowsThreads > ctx.device.limits.maxComputeWorkgroupSizeX ||
      rowsShared > ctx.limits.maxComputeWorkgroupStorageSize
    ) {
      throw new GpuError(
        "limits",
        `Few-rows matmul shape rowsBn = ${rowsBn}, rowsBk = ${rowsBk}, rowsRpt = ${rowsPerThread} is not supported here for ${dtype} (${rowsThreads} threads, ${rowsShared} bytes of workgroup memory, ${xPerThread} x and ${wPerThread} w vec4s staged per thread; rowsBk must be 16, 32, 64 or 128, rowsBn a multiple of 4, x vec4s 1, 2 or 4, w vec4s 1 or 2 with rowsRpt 1 and 1, 2 or 4 with rowsRpt 4, which f16 needs); pick the defaults`,
      );
    }
    const entry = (tiles.prefetch ?? dtype === "f32") ? "matmul_tiled_prefetch" : "matmul_tiled";
    const header = `${dtype === "f16" ? "enable f16;\n" : ""}alias WT = ${dtype};
alias CT = ${dtype};
const SPLIT: bool = ${dtype === "f16"};
const BM_M: u32 = ${bm}u;
const BM_N: u32 = ${bn}u;
const BK: u32 = ${bk}u;
const PREFETCH: bool = ${entry === "matmul_tiled_prefetch"};
const ROWS_BN: u32 = ${rowsBn}u;
const ROWS_BK: u32 = ${rowsBk}u;
const ROWS_RPT: u32 = ${rowsPerThread}u;
`;
    const layout = ["uniform", "uniform", "read", "read", "read", "read_write"] as const;
    const label = `matmul-${dtype}-${bm}x${bn}-${entry}`;
    const p = await ctx.pipeline(header + code, entry, {}, label, layout);
    // The few-rows kernels reproduce the tiled kernel's chains for either dtype (f16: per k tile).
    const rowsEntry = rowsPerThread === 4 ? "matmul_rows_quad" : "matmul_rows";
    const rows = await ctx.pipeline(header + code, rowsEntry, {}, `${label}-${rowsEntry}`, layout);
    const compiled = { ...tiles, rowsBn, rowsBk, rowsRpt: rowsPerThread as 1 | 4 };
    return new MatmulKernel(ctx, dtype, compiled, p, rows);
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
   * Binds the same product for at most {@link MATMUL_ROWS_MAX} rows (decode), one thread per
   * output (row, column) pair and rowsBn columns per workgroup: bit-identical to {@link bind}'s
   * result (each output is the same fma chain in the same k order), with 16 · N threads of
   * parallelism instead of N / BN workgroups.
   *
   * @param a Buffers and layout.
   * @returns The dispatches (their grid ignores rows beyond MATMUL_ROWS_MAX: do not pass more).
   * @throws {GpuError} As {@link bind}, and when a chunk needs more workgroups than the device
   * allows in one dimension.
   */
  bindRows(a: MatmulArgs): Dispatch[] {
    const rowsBn = this.tiles.rowsBn ?? MATMUL_ROWS_SHAPE[this.dtype].rowsBn;
    const most = this.#ctx.limits.maxComputeWorkgroupsPerDimension;
    for (const chunk of a.w.chunks) {
      if (Math.ceil(chunk.rows / rowsBn) > most) {
        throw new GpuError(
          "limits",
          `Few-rows matmul over ${chunk.rows} weight rows needs ${
            Math.ceil(chunk.rows / rowsBn)
          } workgroups, more than this device's ${most}; split the weight into smaller chunks`,
        );
      }
    }
    return this.#bindWith(
      a,
      this.#rowsPipeline,
      (n) => () => [Math.ceil(n / rowsBn), 1, 1],
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
