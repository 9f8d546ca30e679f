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
 * ```ts
 * import { encodeDispatch, GpuContext } from "./context.ts";
 * import { RmsNormKernel } from "./rmsnorm.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const norm = await RmsNormKernel.create(ctx);
 *   const [x, w, y] = [ctx.storage(16, "x"), ctx.storage(16, "w"), ctx.storage(16, "y")];
 *   ctx.write(x, 0, new Float32Array([3, 4, 0, 0])); // rms = 2.5
 *   ctx.write(w, 0, new Float32Array([1, 1, 1, 2]));
 *   const run = ctx.uniform(new Uint32Array([1, 0, 0, 0]), "run");
 *   const enc = ctx.device.createCommandEncoder();
 *   const pass = enc.beginComputePass();
 *   encodeDispatch(pass, norm.bind(run, x, w, y, 4, 0), 1);
 *   pass.end();
 *   ctx.device.queue.submit([enc.finish()]);
 *   const out = new Float32Array(await ctx.read(y, 0, 4 * 4));
 *   ctx.destroy();
 *   if (Math.abs(out[0] - 1.2) > 1e-6 || Math.abs(out[1] - 1.6) > 1e-6) throw new Error(`unexpected ${out}`);
 * }
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
