/**
 * GRAIL v5 sketches of f32 hidden rows on a CUDA device (`shaders/cuda/sketch.cu`), equal to the
 * protocol's CPU `sketches()` for every input: same top-k tie rule, same buckets, same modulus.
 *
 * Legend: rows R, hidden size C, k coefficients.
 *
 * @module
 */

import sketch from "../../shaders/cuda/sketch.cu" with { type: "text" };
import { PROOF_NUM_BUCKETS } from "../protocol/constants.ts";
import type { CudaContext, DeviceBuffer } from "./context.ts";
import { THREADS } from "./kernels_source.ts";

/** Most coefficients the kernel takes (SKETCH_MAX_K in sketch.cu; the protocol uses 16). */
export const CUDA_SKETCH_MAX_K = 32;

// The host's sizes must equal sketch.cu's #defines: checked once, at load.
for (
  const [name, value] of [["SKETCH_MAX_K", CUDA_SKETCH_MAX_K], ["SKETCH_THREADS", THREADS.sketch]]
) {
  if (!new RegExp(`#define ${name} ${value}\\b`).test(sketch)) {
    throw new Error(
      `Kernel constant ${name} is not ${value} in shaders/cuda/sketch.cu: update both`,
    );
  }
}

/** u32 words of the kernel's parameter buffer: the 7 thresholds, then up to 32 coefficients. */
export const CUDA_SKETCH_PARAM_WORDS: number = PROOF_NUM_BUCKETS - 1 + CUDA_SKETCH_MAX_K;

/**
 * The kernel's parameter words for some coefficients: bucket thresholds T_b = 2^(1.25 b) − 1
 * (b = 1..7) computed in float64 and rounded up to the next float32, as bit patterns, so that
 * for any float32 |x|, `|x| >= T_b(f32)` exactly when `|x| >= T_b(f64)` (protocol spec §3.3);
 * then the coefficients as i32.
 *
 * @param coeffs Sketch coefficients (1..32 of them).
 * @returns 7 + k u32 words.
 * @throws {RangeError} For no or more than 32 coefficients.
 * @example b = 4 is exactly 31, and the coefficients follow as i32
 * ```ts
 * import { cudaSketchParams } from "./sketch.ts";
 * const w = cudaSketchParams(Int8Array.of(-1, 2));
 * if (new Float32Array(w.buffer)[3] !== 31 || new Int32Array(w.buffer)[7] !== -1) throw new Error();
 * ```
 */
export function cudaSketchParams(coeffs: Int8Array): Uint32Array {
  const k = coeffs.length;
  if (k < 1 || k > CUDA_SKETCH_MAX_K) {
    throw new RangeError(
      `Cannot sketch with ${k} coefficients on CUDA: expected 1..${CUDA_SKETCH_MAX_K}`,
    );
  }
  const n = PROOF_NUM_BUCKETS - 1;
  const words = new Uint32Array(n + k);
  const f = new Float32Array(words.buffer, 0, n);
  for (let b = 1; b <= n; b++) {
    const t = Math.pow(2, 1.25 * b) - 1;
    f[b - 1] = t;
    // Positive floats: the next bit pattern is the next float up.
    if (f[b - 1] < t) words[b - 1] += 1;
  }
  new Int32Array(words.buffer, 4 * n, k).set(coeffs);
  return words;
}

/**
 * The sketch kernel on one context, from the model's compiled program or compiled on its own
 * ({@link CudaSketch.compile}).
 *
 * @example Sketching two rows, where a CUDA device exists
 * ```ts
 * import { CudaContext, hasCudaDevice } from "./context.ts";
 * import { CudaSketch } from "./sketch.ts";
 * import { sketches } from "../protocol/sketch.ts";
 * if (hasCudaDevice()) {
 *   const ctx = CudaContext.create();
 *   const h = new Float32Array(64).map((_, i) => (i % 7) - 3);
 *   const coeffs = new Int8Array(16).fill(1);
 *   const got = CudaSketch.compile(ctx).sketches(h, 32, coeffs);
 *   ctx.destroy();
 *   if (got.join() !== sketches(h, 32, coeffs).join()) throw new Error();
 * }
 * ```
 */
export class CudaSketch {
  readonly #ctx: CudaContext;
  readonly #fn: Deno.PointerObject;

  /**
   * Wraps a compiled entry point.
   *
   * @param ctx The context it was loaded on.
   * @param fn Entry points by name (needs sketch_rows).
   * @throws {TypeError} When sketch_rows is missing.
   */
  constructor(ctx: CudaContext, fn: ReadonlyMap<string, Deno.PointerObject>) {
    const rows = fn.get("sketch_rows");
    if (!rows) throw new TypeError("Missing entry sketch_rows in the module");
    this.#ctx = ctx;
    this.#fn = rows;
  }

  /**
   * Compiles sketch.cu on its own (it needs nothing from common.cu).
   *
   * @param ctx The context.
   * @returns The kernel.
   * @throws {CudaError} When NVRTC or the driver fails.
   */
  static compile(ctx: CudaContext): CudaSketch {
    return new CudaSketch(ctx, ctx.loadModule(sketch, ["sketch_rows"]).functions);
  }

  /**
   * Queues out[r] = sketch(h[r]) for rows [0, rows) (one block per row).
   *
   * @param h [rows, C] f32.
   * @param params {@link cudaSketchParams} words (7 + k).
   * @param out [rows] u32 (written).
   * @param rows Rows.
   * @param c C.
   * @param k Coefficients in `params`.
   * @throws {RangeError} When k is not in 1..min(32, C).
   */
  launch(
    h: DeviceBuffer | bigint,
    params: DeviceBuffer,
    out: DeviceBuffer,
    rows: number,
    c: number,
    k: number,
  ): void {
    if (!Number.isInteger(k) || k < 1 || k > CUDA_SKETCH_MAX_K || k > c) {
      // k > C would let the kernel pick a sentinel instead of an index.
      throw new RangeError(
        `Cannot sketch rows of ${c} values with ${k} coefficients: expected 1..${
          Math.min(CUDA_SKETCH_MAX_K, c)
        }`,
      );
    }
    this.#ctx.launch(this.#fn, [rows, 1, 1], [THREADS.sketch, 1, 1], [
      { ptr: h },
      { ptr: params },
      { ptr: out },
      { i32: c },
      { i32: k },
    ], "sketch_rows");
  }

  /**
   * Uploads hidden rows and returns their sketches (tests and one-off use).
   *
   * @param hidden Row-major [rows, C] float32 values.
   * @param c C.
   * @param coeffs Sketch coefficients (1..min(32, C)).
   * @returns One sketch per row.
   * @throws {RangeError} When the shape or the coefficient count is inconsistent.
   */
  sketches(hidden: Float32Array, c: number, coeffs: Int8Array): Uint32Array {
    if (!Number.isInteger(c) || c < 1 || hidden.length % c !== 0) {
      throw new RangeError(
        `Cannot split ${hidden.length} activations into rows of ${c}: expected a positive divisor`,
      );
    }
    const rows = hidden.length / c;
    const out = new Uint32Array(rows);
    const params = cudaSketchParams(coeffs);
    if (rows === 0) return out;
    const ctx = this.#ctx;
    const made: DeviceBuffer[] = [];
    try {
      const h = ctx.alloc(hidden.byteLength, "sketch-hidden");
      made.push(h);
      const p = ctx.alloc(params.byteLength, "sketch-params");
      made.push(p);
      const o = ctx.alloc(out.byteLength, "sketch-out");
      made.push(o);
      ctx.upload(h, hidden);
      ctx.upload(p, params);
      this.launch(h, p, o, rows, c, coeffs.length);
      ctx.download(out, o);
      return out;
    } finally {
      for (const b of made) ctx.free(b);
    }
  }
}
