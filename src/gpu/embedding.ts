/**
 * Embedding gather from a vocabulary-chunked table.
 *
 * @module
 */

import code from "../../shaders/embedding.wgsl" with { type: "text" };
import type { Dispatch, GpuContext } from "./context.ts";
import type { GpuMatrix, WeightDType } from "./weights.ts";

/** Threads per workgroup along C. */
export const EMBEDDING_WG = 64;

/**
 * The embedding kernel family (one pipeline per table dtype).
 *
 * @example
 * ```ts ignore
 * const emb = await EmbeddingKernel.create(ctx, "f32");
 * const ops = emb.bind(run, rowsMeta, table, x);
 * ```
 */
export class EmbeddingKernel {
  readonly #ctx: GpuContext;
  readonly #pipeline: GPUComputePipeline;

  private constructor(ctx: GpuContext, pipeline: GPUComputePipeline) {
    this.#ctx = ctx;
    this.#pipeline = pipeline;
  }

  /**
   * Compiles the kernel.
   *
   * @param ctx The context.
   * @param dtype Table element type.
   * @returns The kernel.
   */
  static async create(ctx: GpuContext, dtype: WeightDType): Promise<EmbeddingKernel> {
    const header = `${dtype === "f16" ? "enable f16;\n" : ""}alias WT = ${dtype};\n`;
    const p = await ctx.pipeline(
      header + code,
      "embedding_gather",
      { WG: EMBEDDING_WG },
      "embedding",
      [
        "uniform",
        "uniform",
        "read",
        "read",
        "read_write",
      ],
    );
    return new EmbeddingKernel(ctx, p);
  }

  /**
   * Binds x[r] = table[token[r]], one dispatch per vocabulary chunk.
   *
   * @param run Run uniform.
   * @param rowsMeta Row metadata [rows] vec4<u32> (token first).
   * @param table Embedding [V, C].
   * @param x Output [rows, C] f32.
   * @returns The dispatches.
   */
  bind(run: GPUBuffer, rowsMeta: GPUBuffer, table: GpuMatrix, x: GPUBuffer): Dispatch[] {
    const c = table.cols;
    return table.chunks.map((chunk) => {
      const params = this.#ctx.uniform(
        new Uint32Array([c, chunk.rowStart, chunk.rows, 0]),
        "embedding-params",
      );
      return {
        pipeline: this.#pipeline,
        bindGroup: this.#ctx.bindGroup(
          this.#pipeline,
          [run, params, rowsMeta, chunk.buffer, x],
          "embedding",
        ),
        grid: (rows: number): [number, number, number] => [Math.ceil(c / EMBEDDING_WG), rows, 1],
      };
    });
  }
}
