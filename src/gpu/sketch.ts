/**
 * GRAIL v5 sketches of hidden rows on the GPU, equal to the protocol's CPU `sketches()` for the
 * same float32 hidden states (same top-k tie rule, same buckets, same modulus).
 *
 * @module
 */

import code from "../../shaders/sketch.wgsl" with { type: "text" };
import { type Dispatch, encodeDispatch, type GpuContext } from "./context.ts";
import { PROOF_NUM_BUCKETS } from "../protocol/constants.ts";

/** Threads per row (a power of two). */
export const SKETCH_WG = 128;
/** Most coefficients the kernel takes (the protocol uses 16). */
export const SKETCH_MAX_K = 32;

/**
 * Bucket thresholds as float32 bit patterns: T_b = 2^(1.25 b) − 1 for b = 1..7, computed in
 * float64 and rounded up to the next float32, so that for any float32 |x|,
 * `|x| >= T_b(f32)` exactly when `|x| >= T_b(f64)` (protocol spec §3.3).
 *
 * @returns Seven u32 bit patterns, ascending.
 * @example b = 4 is exactly 31
 * ```ts
 * import { sketchThresholdBits } from "./sketch.ts";
 * const f = new Float32Array(sketchThresholdBits().buffer);
 * if (f[3] !== 31 || f.length !== 7) throw new Error();
 * ```
 */
export function sketchThresholdBits(): Uint32Array {
  const n = PROOF_NUM_BUCKETS - 1;
  const f = new Float32Array(n);
  const bits = new Uint32Array(f.buffer);
  for (let b = 1; b <= n; b++) {
    const t = Math.pow(2, 1.25 * b) - 1;
    f[b - 1] = t;
    if (f[b - 1] < t) bits[b - 1] += 1; // positive floats: the next bit pattern is the next float
  }
  return bits;
}

/**
 * The sketch kernel family.
 *
 * @example Sketching hidden rows (skipped where there is no adapter)
 * ```ts
 * import { GpuContext } from "./context.ts";
 * import { SketchKernel } from "./sketch.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const sk = await SketchKernel.create(ctx);
 *   const h = new Float32Array(64).map((_, i) => (i % 7) - 3);
 *   const s = await sk.sketches(h, 32, new Int8Array(16).fill(1));
 *   if (s.length !== 2) throw new Error();
 *   ctx.destroy();
 * }
 * ```
 */
export class SketchKernel {
  readonly #ctx: GpuContext;
  readonly #pipeline: GPUComputePipeline;
  readonly #thresholds: GPUBuffer;

  private constructor(ctx: GpuContext, pipeline: GPUComputePipeline) {
    this.#ctx = ctx;
    this.#pipeline = pipeline;
    this.#thresholds = ctx.storage(28, "sketch-thresholds");
    ctx.write(this.#thresholds, 0, sketchThresholdBits());
  }

  /**
   * Compiles the kernel.
   *
   * @param ctx The context.
   * @returns The kernel.
   */
  static async create(ctx: GpuContext): Promise<SketchKernel> {
    return new SketchKernel(
      ctx,
      await ctx.pipeline(code, "sketch_rows", { WG: SKETCH_WG }, "sketch", [
        "uniform",
        "uniform",
        "read",
        "read",
        "read",
        "read_write",
      ]),
    );
  }

  /**
   * Binds out[r] = sketch(h[x_row_offset + r]).
   *
   * @param run Run uniform.
   * @param h Hidden rows [*, c] f32.
   * @param coeffs Coefficients [k] i32.
   * @param out Sketches [rows] u32.
   * @param c Row width.
   * @param k Number of coefficients.
   * @returns The dispatch.
   * @throws {RangeError} When k is out of range or exceeds c.
   */
  bind(
    run: GPUBuffer,
    h: GPUBuffer,
    coeffs: GPUBuffer,
    out: GPUBuffer,
    c: number,
    k: number,
  ): Dispatch {
    if (!Number.isInteger(k) || k < 1 || k > SKETCH_MAX_K || k > c) {
      throw new RangeError(
        `Cannot sketch with ${k} coefficients: expected 1..${Math.min(SKETCH_MAX_K, c)}`,
      );
    }
    const params = this.#ctx.uniform(new Uint32Array([c, k, 0, 0]), "sketch-params");
    return {
      pipeline: this.#pipeline,
      bindGroup: this.#ctx.bindGroup(
        this.#pipeline,
        [run, params, h, coeffs, this.#thresholds, out],
        "sketch",
      ),
      grid: (rows) => [rows, 1, 1],
    };
  }

  /**
   * Uploads hidden rows and returns their sketches (the GPU twin of the protocol's `sketches`).
   *
   * @param hidden Row-major [rows, hiddenDim] float32 values.
   * @param hiddenDim C.
   * @param coeffs Sketch coefficients (from the protocol's sketchCoefficients).
   * @returns One sketch per row.
   * @throws {RangeError} When the shape is inconsistent.
   */
  async sketches(hidden: Float32Array, hiddenDim: number, coeffs: Int8Array): Promise<Uint32Array> {
    if (!Number.isInteger(hiddenDim) || hiddenDim < 1 || hidden.length % hiddenDim !== 0) {
      throw new RangeError(
        `Cannot split ${hidden.length} activations into rows of ${hiddenDim}: expected a positive divisor`,
      );
    }
    const ctx = this.#ctx;
    const total = hidden.length / hiddenDim;
    const out = new Uint32Array(total);
    if (total === 0) return out;
    const maxRows = Math.max(
      1,
      Math.min(
        ctx.limits.maxComputeWorkgroupsPerDimension,
        Math.floor(ctx.limits.maxStorageBufferBindingSize / (4 * hiddenDim)),
        total,
      ),
    );
    const run = ctx.uniform(new Uint32Array(4), "sketch-run");
    const h = ctx.storage(maxRows * hiddenDim * 4, "sketch-hidden");
    const cb = ctx.storage(coeffs.length * 4, "sketch-coeffs");
    const o = ctx.storage(maxRows * 4, "sketch-out");
    try {
      ctx.write(cb, 0, Int32Array.from(coeffs));
      const op = this.bind(run, h, cb, o, hiddenDim, coeffs.length);
      for (let r0 = 0; r0 < total; r0 += maxRows) {
        const n = Math.min(maxRows, total - r0);
        ctx.write(run, 0, new Uint32Array([n, 0, 0, 0]));
        ctx.write(h, 0, hidden.subarray(r0 * hiddenDim, (r0 + n) * hiddenDim));
        const enc = ctx.device.createCommandEncoder();
        const pass = enc.beginComputePass();
        encodeDispatch(pass, op, n);
        pass.end();
        ctx.device.queue.submit([enc.finish()]);
        out.set(new Uint32Array(await ctx.read(o, 0, n * 4)), r0);
      }
    } finally {
      ctx.release(run);
      ctx.release(h);
      ctx.release(cb);
      ctx.release(o);
    }
    return out;
  }
}
