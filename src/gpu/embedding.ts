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
 * ```ts
 * import { encodeDispatch, GpuContext } from "./context.ts";
 * import { EmbeddingKernel } from "./embedding.ts";
 * import { allocMatrix, writeRows } from "./weights.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const emb = await EmbeddingKernel.create(ctx, "f32");
 *   const table = allocMatrix(ctx, 3, 4, "f32", "table");
 *   writeRows(ctx, table, 0, new Float32Array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]));
 *   const meta = ctx.storage(16, "meta");
 *   ctx.write(meta, 0, new Uint32Array([2, 0, 0, 0])); // token 2 at position 0
 *   const x = ctx.storage(16, "x");
 *   const run = ctx.uniform(new Uint32Array([1, 0, 0, 0]), "run");
 *   const enc = ctx.device.createCommandEncoder();
 *   const pass = enc.beginComputePass();
 *   for (const op of emb.bind(run, meta, table, x)) encodeDispatch(pass, op, 1);
 *   pass.end();
 *   ctx.device.queue.submit([enc.finish()]);
 *   const out = new Float32Array(await ctx.read(x, 0, 4 * 4));
 *   ctx.destroy();
 *   if (out.some((v) => v !== 2)) throw new Error(`unexpected ${out}`);
 * }
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
