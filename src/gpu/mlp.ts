/**
 * SwiGLU activation of the fused gate/up projection.
 *
 * @module
 */

import code from "../../shaders/mlp.wgsl" with { type: "text" };
import type { Dispatch, GpuContext } from "./context.ts";

/** Threads per workgroup along FF. */
export const MLP_WG = 64;

/**
 * The SwiGLU kernel family.
 *
 * @example
 * ```ts ignore
 * const mlp = await MlpKernel.create(ctx);
 * const op = mlp.bind(run, gu, h, 4864);
 * ```
 */
export class MlpKernel {
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
  static async create(ctx: GpuContext): Promise<MlpKernel> {
    return new MlpKernel(
      ctx,
      await ctx.pipeline(code, "mlp_swiglu", { WG: MLP_WG }, "mlp", [
        "uniform",
        "uniform",
        "read",
        "read_write",
      ]),
    );
  }

  /**
   * Binds h = silu(gate) * up.
   *
   * @param run Run uniform.
   * @param gu [rows, 2 FF] f32: gate outputs, then up outputs.
   * @param h Output [rows, FF] f32.
   * @param ff FF.
   * @returns The dispatch.
   */
  bind(run: GPUBuffer, gu: GPUBuffer, h: GPUBuffer, ff: number): Dispatch {
    const params = this.#ctx.uniform(new Uint32Array([ff, 0, 0, 0]), "mlp-params");
    return {
      pipeline: this.#pipeline,
      bindGroup: this.#ctx.bindGroup(this.#pipeline, [run, params, gu, h], "mlp"),
      grid: (rows) => [Math.ceil(ff / MLP_WG), rows, 1],
    };
  }
}
