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
 * ```ts
 * import { encodeDispatch, GpuContext } from "./context.ts";
 * import { MlpKernel } from "./mlp.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const mlp = await MlpKernel.create(ctx);
 *   const [gu, h] = [ctx.storage(32, "gu"), ctx.storage(16, "h")];
 *   ctx.write(gu, 0, new Float32Array([0, 1, 2, 3, 5, 5, 5, 5])); // gate | up, FF = 4
 *   const run = ctx.uniform(new Uint32Array([1, 0, 0, 0]), "run");
 *   const enc = ctx.device.createCommandEncoder();
 *   const pass = enc.beginComputePass();
 *   encodeDispatch(pass, mlp.bind(run, gu, h, 4), 1);
 *   pass.end();
 *   ctx.device.queue.submit([enc.finish()]);
 *   const out = new Float32Array(await ctx.read(h, 0, 4 * 4));
 *   ctx.destroy();
 *   if (out[0] !== 0 || Math.abs(out[1] - 5 / (1 + Math.exp(-1))) > 1e-5) throw new Error(`unexpected ${out}`);
 * }
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
