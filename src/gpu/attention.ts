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
/** Keys per shared-memory load by default. Not part of the arithmetic order (each load runs its
 * KT-key tiles one by one). 32 and 64 were slower on the H200 (0.5B shape, one layer: 16 keys
 * 4.5 ms, 32 keys 7.7 ms, 64 keys 7.6 ms): the larger tiles cost more workgroups per SM than the
 * saved barriers bring. */
const ATTENTION_KL_DEFAULT = 16;

/** Options of {@link AttentionKernel.create}. */
export interface AttentionOptions {
  /** Keys per shared-memory load (a multiple of {@link ATTENTION_KT}); default 16. Same bits for
   * every value. */
  keysPerLoad?: number;
  /** Query rows per block and workgroup: 16, 32 or 64 (default 32 where the workgroup memory
   * allows, else 16). Same bits for every value. */
  rowsPerBlock?: number;
  /** Share a row's max and weights by subgroup shuffles (attention_rows_sg; same bits). Default:
   * where the device grants `subgroups` and {@link GpuContext.subgroupLanesLinear} holds. */
  subgroups?: boolean;
}

/** Where attention.wgsl's two entry points start: each is compiled with the common part above
 * the first line alone (attention_rows_sg needs `subgroups`, and its module then holds no
 * shared score arrays: more workgroups fit in shared memory). */
const SHARED_SECTION = "// ---- attention_rows:";
const SUBGROUP_SECTION = "// ---- attention_rows_sg";

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
  /** Whether the subgroup-shuffle entry point runs (same bits as the shared-memory one). */
  readonly subgroups: boolean;
  readonly #ctx: GpuContext;
  readonly #pipeline: GPUComputePipeline;

  private constructor(
    ctx: GpuContext,
    hs: number,
    qb: number,
    subgroups: boolean,
    pipeline: GPUComputePipeline,
  ) {
    this.#ctx = ctx;
    this.hs = hs;
    this.qb = qb;
    this.subgroups = subgroups;
    this.#pipeline = pipeline;
  }

  /**
   * Compiles the kernel for one head size.
   *
   * @param ctx The context.
   * @param hs Head size (a multiple of 4, at most 128).
   * @param options Keys per shared-memory load, rows per block, subgroups.
   * @returns The kernel.
   * @throws {GpuError} When the head size does not fit.
   * @throws {RangeError} When keysPerLoad is not a positive multiple of {@link ATTENTION_KT} or
   * rowsPerBlock is not 16, 32 or 64.
   */
  static async create(
    ctx: GpuContext,
    hs: number,
    options: AttentionOptions = {},
  ): Promise<AttentionKernel> {
    const sharedBytes = (qb: number, kl: number) =>
      4 * (qb * (hs + 4) + kl * (2 * hs + 4) + 2 * qb * (ATTENTION_KT + 1));
    const room = ctx.limits.maxComputeWorkgroupStorageSize;
    const qb = options.rowsPerBlock ??
      (sharedBytes(ATTENTION_QB, ATTENTION_KT) <= room ? ATTENTION_QB : ATTENTION_QB_SMALL);
    if (![16, 32, 64].includes(qb)) {
      throw new RangeError(`Invalid rowsPerBlock: got ${qb}, expected 16, 32 or 64`);
    }
    const kl = options.keysPerLoad ?? ATTENTION_KL_DEFAULT;
    const wg = qb * ATTENTION_THREADS_PER_ROW;
    const shared = sharedBytes(qb, kl);
    if (kl % ATTENTION_KT !== 0 || kl <= 0) {
      throw new RangeError(
        `Invalid keysPerLoad: got ${kl}, expected a positive multiple of ${ATTENTION_KT}`,
      );
    }
    if (
      hs % 4 !== 0 || hs > ATTENTION_MAX_HS || wg > ctx.limits.maxComputeInvocationsPerWorkgroup ||
      shared > room
    ) {
      throw new GpuError(
        "shape",
        `Attention cannot run head size ${hs}: it must be a multiple of 4 and at most ${ATTENTION_MAX_HS}, use at most ${ctx.limits.maxComputeInvocationsPerWorkgroup} threads (needs ${wg}) and at most ${ctx.limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory (needs ${shared})`,
      );
    }
    const linear = await ctx.subgroupLanesLinear(wg, ATTENTION_THREADS_PER_ROW);
    if (options.subgroups === true && !linear) {
      throw new GpuError(
        "limits",
        `Attention with subgroups needs the subgroups feature (granted: ${ctx.hasSubgroups}) and lanes in thread order in groups of ${ATTENTION_THREADS_PER_ROW} (found otherwise); leave the subgroups option unset`,
      );
    }
    const sg = options.subgroups ?? linear;
    const header = `const HS: u32 = ${hs}u;
const QB: u32 = ${qb}u;
const KT: u32 = ${ATTENTION_KT}u;
const KL: u32 = ${kl}u;
const WG: u32 = ${wg}u;
`;
    const [common, sgAt] = [code.indexOf(SHARED_SECTION), code.indexOf(SUBGROUP_SECTION)];
    const text = code.slice(0, common) + (sg ? code.slice(sgAt) : code.slice(common, sgAt));
    const entry = sg ? "attention_rows_sg" : "attention_rows";
    const p = await ctx.pipeline(header + text, entry, {}, `attention-hs${hs}-kl${kl}-${entry}`, [
      "uniform",
      "uniform",
      "read",
      "read",
      "read",
      "read",
      "read_write",
    ]);
    return new AttentionKernel(ctx, hs, qb, sg, p);
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
