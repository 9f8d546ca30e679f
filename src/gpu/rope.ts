/**
 * q/k post-processing of the fused qkv projection: optional per-head RMSNorm (qwen3), rotary
 * embedding, and the write of keys and values into the KV cache.
 *
 * @module
 */

import code from "../../shaders/rope.wgsl" with { type: "text" };
import type { Dispatch, GpuContext } from "./context.ts";

/** Threads per (row, head) (a power of two). */
export const ROPE_WG = 64;

/** Head layout of the fused qkv rows. */
export interface RopeShape {
  /** Query heads. */
  nh: number;
  /** Key/value heads. */
  nkv: number;
  /** Head size. */
  hs: number;
  /** Whether q_norm/k_norm apply. */
  qkNorm: boolean;
  /** Epsilon of the q/k norms. */
  eps: number;
}

/** Buffers of one rope dispatch. */
export interface RopeBuffers {
  /** Run uniform. */
  run: GPUBuffer;
  /** [rows, (NH + 2 NKV) HS] f32. */
  qkv: GPUBuffer;
  /** Row metadata [rows] vec4<u32>: token, pos, kv_row, kv_base. */
  rowsMeta: GPUBuffer;
  /** cos table [positions, HS/2] f32. */
  cos: GPUBuffer;
  /** sin table [positions, HS/2] f32. */
  sin: GPUBuffer;
  /** q_norm weight [HS] (any buffer when unused). */
  qNorm: GPUBuffer;
  /** k_norm weight [HS] (any buffer when unused). */
  kNorm: GPUBuffer;
  /** Output queries [rows, NH HS]. */
  q: GPUBuffer;
  /** Key cache [capacity, NKV HS]. */
  kCache: GPUBuffer;
  /** Value cache [capacity, NKV HS]. */
  vCache: GPUBuffer;
}

/**
 * The rope kernel family.
 *
 * @example
 * ```ts
 * import { encodeDispatch, GpuContext } from "./context.ts";
 * import { RopeKernel } from "./rope.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const rope = await RopeKernel.create(ctx);
 *   const buf = (data: Float32Array | Uint32Array) => {
 *     const b = ctx.storage(data.byteLength, "b");
 *     ctx.write(b, 0, data);
 *     return b;
 *   };
 *   // Position 0 rotates by nothing: q comes out as it went in.
 *   const qkv = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // q | k | v, HS = 4
 *   const q = ctx.storage(16, "q");
 *   const op = rope.bind({ nh: 1, nkv: 1, hs: 4, qkNorm: false, eps: 1e-6 }, {
 *     run: ctx.uniform(new Uint32Array([1, 0, 0, 0]), "run"),
 *     qkv: buf(qkv),
 *     rowsMeta: buf(new Uint32Array([0, 0, 0, 0])),
 *     cos: buf(new Float32Array([1, 1])),
 *     sin: buf(new Float32Array([0, 0])),
 *     qNorm: buf(new Float32Array(4)),
 *     kNorm: buf(new Float32Array(4)),
 *     q,
 *     kCache: ctx.storage(16, "k"),
 *     vCache: ctx.storage(16, "v"),
 *   });
 *   const enc = ctx.device.createCommandEncoder();
 *   const pass = enc.beginComputePass();
 *   encodeDispatch(pass, op, 1);
 *   pass.end();
 *   ctx.device.queue.submit([enc.finish()]);
 *   const out = new Float32Array(await ctx.read(q, 0, 4 * 4));
 *   ctx.destroy();
 *   if (out.some((x, i) => x !== qkv[i])) throw new Error(`unexpected ${out}`);
 * }
 * ```
 */
export class RopeKernel {
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
  static async create(ctx: GpuContext): Promise<RopeKernel> {
    return new RopeKernel(
      ctx,
      await ctx.pipeline(code, "rope_qkv", { WG: ROPE_WG }, "rope", [
        "uniform",
        "uniform",
        "read",
        "read",
        "read",
        "read",
        "read",
        "read",
        "read_write",
        "read_write",
        "read_write",
      ]),
    );
  }

  /**
   * Binds the q/k/v post-processing of one layer.
   *
   * @param s Head layout.
   * @param b Buffers.
   * @returns The dispatch.
   */
  bind(s: RopeShape, b: RopeBuffers): Dispatch {
    const words = new Uint32Array(8);
    words.set([s.nh, s.nkv, s.hs, s.qkNorm ? 1 : 0]);
    new Float32Array(words.buffer)[4] = s.eps;
    const params = this.#ctx.uniform(words, "rope-params");
    const buffers = [
      b.run,
      params,
      b.qkv,
      b.rowsMeta,
      b.cos,
      b.sin,
      b.qNorm,
      b.kNorm,
      b.q,
      b.kCache,
      b.vCache,
    ];
    const heads = s.nh + 2 * s.nkv;
    return {
      pipeline: this.#pipeline,
      bindGroup: this.#ctx.bindGroup(this.#pipeline, buffers, "rope"),
      grid: (rows) => [heads, rows, 1],
    };
  }
}
