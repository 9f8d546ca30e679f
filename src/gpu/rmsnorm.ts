/**
 * RMSNorm over rows (every layer's two norms and the final norm).
 *
 * @module
 */

import code from "../../shaders/rmsnorm.wgsl" with { type: "text" };
import type { Dispatch, GpuContext } from "./context.ts";

/** Threads per row (a power of two). */
export const RMSNORM_WG = 256;

/**
 * The RMSNorm kernel family.
 *
 * @example
 * ```ts ignore
 * const norm = await RmsNormKernel.create(ctx);
 * const op = norm.bind(run, x, weight, y, 896, 1e-6);
 * ```
 */
export class RmsNormKernel {
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
   * @returns The kernel.
   */
  static async create(ctx: GpuContext): Promise<RmsNormKernel> {
    return new RmsNormKernel(
      ctx,
      await ctx.pipeline(code, "rmsnorm_rows", { WG: RMSNORM_WG }, "rmsnorm", [
        "uniform",
        "uniform",
        "read",
        "read",
        "read_write",
      ]),
    );
  }

  /**
   * Binds y = rmsnorm(x) * w over rows of width c.
   *
   * @param run Run uniform.
   * @param x Input [rows, c] f32.
   * @param w Weight [c] f32.
   * @param y Output [rows, c] f32.
   * @param c Row width.
   * @param eps Epsilon.
   * @returns The dispatch.
   */
  bind(run: GPUBuffer, x: GPUBuffer, w: GPUBuffer, y: GPUBuffer, c: number, eps: number): Dispatch {
    const words = new Uint32Array(4);
    words[0] = c;
    new Float32Array(words.buffer)[1] = eps;
    const params = this.#ctx.uniform(words, "rmsnorm-params");
    return {
      pipeline: this.#pipeline,
      bindGroup: this.#ctx.bindGroup(this.#pipeline, [run, params, x, w, y], "rmsnorm"),
      grid: (rows) => [rows, 1, 1],
    };
  }
}
