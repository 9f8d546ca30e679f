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
 * ```ts ignore
 * const rope = await RopeKernel.create(ctx);
 * const op = rope.bind(shape, buffers);
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
