/**
 * Log-probability of one token (and the probability of another) per logits row, through a
 * log-sum-exp over the vocabulary.
 *
 * @module
 */

import code from "../../shaders/logprob.wgsl" with { type: "text" };
import type { Dispatch, GpuContext } from "./context.ts";

/** Threads per row (a power of two). */
export const LOGPROB_WG = 256;
/** Target id meaning "nothing to report at this row". */
export const LOGPROB_NONE = 0xffffffff;

/**
 * The log-prob kernel family.
 *
 * @example
 * ```ts
 * import { encodeDispatch, GpuContext } from "./context.ts";
 * import { LogprobKernel } from "./logprob.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const lp = await LogprobKernel.create(ctx);
 *   const [logits, targets, out2] = [ctx.storage(16, "l"), ctx.storage(8, "t"), ctx.storage(8, "o")];
 *   ctx.write(logits, 0, new Float32Array([0, 0, 0, 0])); // uniform over 4 tokens
 *   ctx.write(targets, 0, new Uint32Array([1, 3])); // log p(1), p(3)
 *   const run = ctx.uniform(new Uint32Array([1, 0, 0, 0]), "run");
 *   const enc = ctx.device.createCommandEncoder();
 *   const pass = enc.beginComputePass();
 *   encodeDispatch(pass, lp.bind(run, logits, targets, out2, 4), 1);
 *   pass.end();
 *   ctx.device.queue.submit([enc.finish()]);
 *   const out = new Float32Array(await ctx.read(out2, 0, 2 * 4));
 *   ctx.destroy();
 *   if (Math.abs(out[0] - Math.log(0.25)) > 1e-6 || Math.abs(out[1] - 0.25) > 1e-6) throw new Error(`unexpected ${out}`);
 * }
 * ```
 */
export class LogprobKernel {
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
  static async create(ctx: GpuContext): Promise<LogprobKernel> {
    return new LogprobKernel(
      ctx,
      await ctx.pipeline(code, "logprob_rows", { WG: LOGPROB_WG }, "logprob", [
        "uniform",
        "uniform",
        "read",
        "read",
        "read_write",
      ]),
    );
  }

  /**
   * Binds out[off + r] = (log p(target), p(eos)) from logits rows r of the block.
   *
   * @param run Run uniform (rows, x_row_offset = block offset into targets/out).
   * @param logits [rows, V] f32.
   * @param targets [offset + rows] vec2<u32>.
   * @param out [offset + rows] vec2<f32>.
   * @param v Vocabulary size.
   * @returns The dispatch.
   */
  bind(run: GPUBuffer, logits: GPUBuffer, targets: GPUBuffer, out: GPUBuffer, v: number): Dispatch {
    const params = this.#ctx.uniform(new Uint32Array([v, 0, 0, 0]), "logprob-params");
    return {
      pipeline: this.#pipeline,
      bindGroup: this.#ctx.bindGroup(
        this.#pipeline,
        [run, params, logits, targets, out],
        "logprob",
      ),
      grid: (rows) => [rows, 1, 1],
    };
  }
}
