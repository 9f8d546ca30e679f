/**
 * Weight matrices on the GPU, split by rows into chunks that each fit one storage binding
 * (llvmpipe allows 128 MiB; a 151,936 × 4,096 f32 embedding is 2.3 GiB).
 *
 * @module
 */

import type { GpuContext } from "./context.ts";
import { GpuError } from "./gpu_error.ts";

/** Element type of weights on the GPU: f32, or f16 where the device has `shader-f16`. */
export type WeightDType = "f32" | "f16";

/** A [rows, cols] row-major matrix held as row chunks. */
export interface GpuMatrix {
  /** Rows (N, e.g. output features). */
  readonly rows: number;
  /** Columns (K, input features). */
  readonly cols: number;
  /** Element type. */
  readonly dtype: WeightDType;
  /** Consecutive row ranges, each one buffer. */
  readonly chunks: readonly { buffer: GPUBuffer; rowStart: number; rows: number }[];
}

/**
 * Bytes per element of a weight dtype.
 *
 * @param dtype The dtype.
 * @returns 4 or 2.
 * @example
 * ```ts
 * import { dtypeBytes } from "./weights.ts";
 * if (dtypeBytes("f16") !== 2) throw new Error();
 * ```
 */
export function dtypeBytes(dtype: WeightDType): number {
  return dtype === "f32" ? 4 : 2;
}

/**
 * Allocates a matrix in as few chunks as the binding limit allows.
 *
 * @param ctx The context that will own the buffers.
 * @param rows Rows.
 * @param cols Columns.
 * @param dtype Element type.
 * @param label Debug label (the tensor name).
 * @param maxChunkBytes Largest chunk; default the adapter's storage-binding limit.
 * @returns The (uninitialised) matrix.
 * @throws {GpuError} code "limits" when one row is larger than a binding.
 * @example
 * ```ts
 * import { GpuContext } from "./context.ts";
 * import { allocMatrix } from "./weights.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const m = allocMatrix(ctx, 10, 4, "f32", "w", 64); // chunks of at most 64 bytes = 4 rows
 *   if (m.chunks.length !== 3 || m.chunks[2].rows !== 2) throw new Error();
 *   ctx.destroy();
 * }
 * ```
 */
export function allocMatrix(
  ctx: GpuContext,
  rows: number,
  cols: number,
  dtype: WeightDType,
  label: string,
  maxChunkBytes: number = ctx.limits.maxStorageBufferBindingSize,
): GpuMatrix {
  const rowBytes = cols * dtypeBytes(dtype);
  const maxRows = Math.floor(
    Math.min(maxChunkBytes, ctx.limits.maxStorageBufferBindingSize) / rowBytes,
  );
  if (maxRows < 1) {
    throw new GpuError(
      "limits",
      `Cannot place ${label}: one row of ${cols} ${dtype} values (${rowBytes} bytes) exceeds the storage-binding limit ${ctx.limits.maxStorageBufferBindingSize}`,
    );
  }
  const chunks = [];
  for (let start = 0; start < rows; start += maxRows) {
    const n = Math.min(maxRows, rows - start);
    chunks.push({
      buffer: ctx.storage(n * rowBytes, `${label}[${start}..]`),
      rowStart: start,
      rows: n,
    });
  }
  return { rows, cols, dtype, chunks };
}

/**
 * Writes `data` (whole rows, f32) into the matrix from row `rowStart`, converting to the matrix
 * dtype (f16 rounds to nearest even) and crossing chunk boundaries as needed.
 *
 * @param ctx The context.
 * @param m The matrix.
 * @param rowStart First row to write.
 * @param data Row-major values, a whole number of rows.
 * @throws {RangeError} When the data is not whole rows or runs past the matrix.
 * @example
 * ```ts
 * import { GpuContext } from "./context.ts";
 * import { allocMatrix, writeRows } from "./weights.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const m = allocMatrix(ctx, 2, 4, "f32", "w");
 *   writeRows(ctx, m, 1, new Float32Array([5, 6, 7, 8]));
 *   const back = new Float32Array(await ctx.read(m.chunks[0].buffer, 16, 16));
 *   ctx.destroy();
 *   if (back[3] !== 8) throw new Error();
 * }
 * ```
 */
export function writeRows(
  ctx: GpuContext,
  m: GpuMatrix,
  rowStart: number,
  data: Float32Array,
): void {
  if (data.length % m.cols !== 0) {
    throw new RangeError(`Cannot write ${data.length} values as rows of ${m.cols}: not whole rows`);
  }
  const nRows = data.length / m.cols;
  if (rowStart < 0 || rowStart + nRows > m.rows) {
    throw new RangeError(
      `Cannot write rows [${rowStart}, ${rowStart + nRows}) into a matrix of ${m.rows} rows`,
    );
  }
  for (const chunk of m.chunks) {
    const lo = Math.max(rowStart, chunk.rowStart);
    const hi = Math.min(rowStart + nRows, chunk.rowStart + chunk.rows);
    if (lo >= hi) continue;
    const part = data.subarray((lo - rowStart) * m.cols, (hi - rowStart) * m.cols);
    const bytes = m.dtype === "f32" ? part : new Float16Array(part);
    ctx.write(chunk.buffer, (lo - chunk.rowStart) * m.cols * dtypeBytes(m.dtype), bytes);
  }
}
