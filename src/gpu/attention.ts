/**
 * Causal grouped-query attention of query rows over a KV cache, in blocks of consecutive rows.
 *
 * @module
 */

import code from "../../shaders/attention.wgsl" with { type: "text" };
import type { Dispatch, GpuContext } from "./context.ts";
import { GpuError } from "./gpu_error.ts";

/** Query rows per block (and per workgroup) where workgroup memory allows; else
 * {@link ATTENTION_QB_SMALL}. Not part of the arithmetic order (see the shader). */
export const ATTENTION_QB = 32;
/** Query rows per block where 32 do not fit the adapter's workgroup memory (e.g. HS 128 on 32 KiB). */
export const ATTENTION_QB_SMALL = 16;
/** Keys per tile. Part of the arithmetic order: every path uses this one value. */
export const ATTENTION_KT = 16;
/** Threads per query row; a workgroup has QB * 4 threads, each owning about HS / 16 outputs. */
export const ATTENTION_THREADS_PER_ROW = 4;
/** Largest head size: the shader holds at most 8 output vec4s per thread in named registers. */
const ATTENTION_MAX_HS = 128;

/** Head layout. */
export interface AttentionShape {
  /** Query heads. */
  nh: number;
  /** Key/value heads. */
  nkv: number;
  /** Head size. */
  hs: number;
}

/**
 * A query block: up to {@link ATTENTION_QB} consecutive rows of one sequence.
 */
export interface AttentionBlock {
  /** First row (index into q and o). */
  firstRow: number;
  /** Rows in the block. */
  count: number;
  /** KV cache row of position 0 of the sequence. */
  kvBase: number;
  /** Position of the first row. */
  firstPos: number;
}

/**
 * Splits rows into attention blocks. Rows are given as runs of consecutive positions of one
 * sequence; each run is cut into blocks of at most `qb` rows.
 *
 * @param runs Runs (firstRow, count, kvBase, firstPos).
 * @param qb Rows per block: the kernel's {@link AttentionKernel.qb}.
 * @returns Blocks as packed u32 quadruples.
 * @example
 * ```ts
 * import { attentionBlocks } from "./attention.ts";
 * const b = attentionBlocks([{ firstRow: 0, count: 40, kvBase: 0, firstPos: 0 }]);
 * if (b.length !== 8 || b[5] !== 8 || b[7] !== 32) throw new Error();
 * ```
 */
export function attentionBlocks(
  runs: readonly AttentionBlock[],
  qb: number = ATTENTION_QB,
): Uint32Array {
  const out: number[] = [];
  for (const r of runs) {
    for (let i = 0; i < r.count; i += qb) {
      out.push(r.firstRow + i, Math.min(qb, r.count - i), r.kvBase, r.firstPos + i);
    }
  }
  return new Uint32Array(out);
}

/**
 * The attention kernel family (one pipeline per head size).
 *
 * @example
 * ```ts
 * import { encodeDispatch, GpuContext } from "./context.ts";
 * import { attentionBlocks, AttentionKernel } from "./attention.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const att = await AttentionKernel.create(ctx, 8);
 *   const buf = (data: Float32Array | Uint32Array) => {
 *     const b = ctx.storage(data.byteLength, "b");
 *     ctx.write(b, 0, data);
 *     return b;
 *   };
 *   // One head, one position: the output is that position's value row.
 *   const v = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
 *   const blocks = buf(attentionBlocks([{ firstRow: 0, count: 1, kvBase: 0, firstPos: 0 }]));
 *   const o = ctx.storage(32, "o");
 *   const run = ctx.uniform(new Uint32Array([1, 0, 0, 0]), "run");
 *   const op = att.bind({ nh: 1, nkv: 1, hs: 8 }, run, blocks, buf(v), buf(v), buf(v), o);
 *   const enc = ctx.device.createCommandEncoder();
 *   const pass = enc.beginComputePass();
 *   encodeDispatch(pass, op, 1);
 *   pass.end();
 *   ctx.device.queue.submit([enc.finish()]);
 *   const out = new Float32Array(await ctx.read(o, 0, 8 * 4));
 *   ctx.destroy();
 *   if (out.some((x, i) => Math.abs(x - v[i]) > 1e-6)) throw new Error(`unexpected ${out}`);
 * }
 * ```
 */
export class AttentionKernel {
  /** Head size compiled in. */
  readonly hs: number;
  /** Query rows per block this kernel takes (pass it to {@link attentionBlocks}). */
  readonly qb: number;
  readonly #ctx: GpuContext;
  readonly #pipeline: GPUComputePipeline;

  private constructor(ctx: GpuContext, hs: number, qb: number, pipeline: GPUComputePipeline) {
    this.#ctx = ctx;
    this.hs = hs;
    this.qb = qb;
    this.#pipeline = pipeline;
  }

  /**
   * Compiles the kernel for one head size.
   *
   * @param ctx The context.
   * @param hs Head size (a multiple of 4, at most 128).
   * @returns The kernel.
   * @throws {GpuError} When the head size does not fit.
   */
  static async create(ctx: GpuContext, hs: number): Promise<AttentionKernel> {
    const sharedBytes = (qb: number) =>
      4 * (qb * (hs + 4) + ATTENTION_KT * (2 * hs + 4) + 2 * qb * (ATTENTION_KT + 1));
    const qb = sharedBytes(ATTENTION_QB) <= ctx.limits.maxComputeWorkgroupStorageSize
      ? ATTENTION_QB
      : ATTENTION_QB_SMALL;
    const wg = qb * ATTENTION_THREADS_PER_ROW;
    const shared = sharedBytes(qb);
    if (
      hs % 4 !== 0 || hs > ATTENTION_MAX_HS || wg > ctx.limits.maxComputeInvocationsPerWorkgroup ||
      shared > ctx.limits.maxComputeWorkgroupStorageSize
    ) {
      throw new GpuError(
        "shape",
        `Attention cannot run head size ${hs}: it must be a multiple of 4 and at most ${ATTENTION_MAX_HS}, use at most ${ctx.limits.maxComputeInvocationsPerWorkgroup} threads (needs ${wg}) and at most ${ctx.limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory (needs ${shared})`,
      );
    }
    const header = `const HS: u32 = ${hs}u;
const QB: u32 = ${qb}u;
const KT: u32 = ${ATTENTION_KT}u;
const WG: u32 = ${wg}u;
`;
    const p = await ctx.pipeline(header + code, "attention_rows", {}, `attention-hs${hs}`, [
      "uniform",
      "uniform",
      "read",
      "read",
      "read",
      "read",
      "read_write",
    ]);
    return new AttentionKernel(ctx, hs, qb, p);
  }

  /**
   * Binds one layer's attention.
   *
   * @param s Head layout.
   * @param run Run uniform.
   * @param blocks Block table [n] vec4<u32>.
   * @param q Queries [rows, NH HS].
   * @param kCache Keys [capacity, NKV HS].
   * @param vCache Values [capacity, NKV HS].
   * @param o Output [rows, NH HS].
   * @returns The dispatch; its grid takes the number of blocks, not rows.
   */
  bind(
    s: AttentionShape,
    run: GPUBuffer,
    blocks: GPUBuffer,
    q: GPUBuffer,
    kCache: GPUBuffer,
    vCache: GPUBuffer,
    o: GPUBuffer,
  ): Dispatch {
    const words = new Uint32Array(4);
    words[0] = s.nh;
    words[1] = s.nkv;
    new Float32Array(words.buffer)[2] = 1 / Math.sqrt(s.hs);
    const params = this.#ctx.uniform(words, "attention-params");
    return {
      pipeline: this.#pipeline,
      bindGroup: this.#ctx.bindGroup(
        this.#pipeline,
        [run, params, blocks, q, kCache, vCache, o],
        "attention",
      ),
      grid: (nBlocks) => [nBlocks, s.nh, 1],
    };
  }
}
