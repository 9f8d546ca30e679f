/**
 * Token candidates on the GPU: per logits row, the M largest logits, the (M+1)-th value and the
 * logits of the row's previous ids (`shaders/sample.wgsl`), so that decoding reads back a few
 * hundred bytes per row instead of V floats, and the host's sampler still chooses exactly the
 * token it would choose from the full row (`sampleFromCandidates` in src/model/sampling.ts).
 *
 * Legend: rows B, vocabulary V, M candidates, G gathered ids per row.
 *
 * @module
 */

import code from "../../shaders/sample.wgsl" with { type: "text" };
import { candidateRowWords, decodeCandidateRow, type RowCandidates } from "../model/sampling.ts";
import { type Dispatch, encodeDispatch, type GpuContext } from "./context.ts";

/** Threads per row (at least the kernel's 256 histogram bins). */
export const SAMPLE_WG = 256;

/**
 * The candidates kernel family.
 *
 * @example The two largest of a row (skipped where there is no adapter)
 * ```ts
 * import { GpuContext } from "./context.ts";
 * import { SampleKernel } from "./sample.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const k = await SampleKernel.create(ctx);
 *   const [c] = await k.candidates(new Float32Array([0, 4, 1, 3, 2]), 5, 2);
 *   ctx.destroy();
 *   if ([...c.ids].sort().join() !== "1,3" || c.rho !== 2) throw new Error();
 * }
 * ```
 */
export class SampleKernel {
  readonly #ctx: GpuContext;
  readonly #pipeline: GPUComputePipeline;
  readonly #feedPipeline: GPUComputePipeline;

  private constructor(ctx: GpuContext, pipeline: GPUComputePipeline, feed: GPUComputePipeline) {
    this.#ctx = ctx;
    this.#pipeline = pipeline;
    this.#feedPipeline = feed;
  }

  /**
   * Compiles the kernel.
   *
   * @param ctx The context.
   * @returns The kernel.
   */
  static async create(ctx: GpuContext): Promise<SampleKernel> {
    const [topm, feed] = await Promise.all([
      ctx.pipeline(code, "sample_topm", { WG: SAMPLE_WG }, "sample", [
        "uniform",
        "read",
        "read",
        "read",
        "read_write",
        "read_write",
      ]),
      ctx.pipeline(code, "sample_feed", { WG: SAMPLE_WG }, "sample-feed", [
        "uniform",
        "read",
        "read_write",
        "read_write",
      ]),
    ]);
    return new SampleKernel(ctx, topm, feed);
  }

  /**
   * Binds the greedy feed: per row, the argmax of the M candidates in `top` goes to `next[row]`
   * and to `log[logOffset + row]` (bit 31 set when the row held a NaN), `logOffset` being the
   * third word of `params`, rewritten before each submit.
   *
   * @param params Uniform (rows, M, logOffset, 0), owned by the caller.
   * @param top The candidates output of {@link bind} ([rows, 2M + 3] u32).
   * @param next [rows] u32: the tokens the next step embeds.
   * @param log [steps × rows] u32.
   * @returns The dispatch.
   */
  bindFeed(params: GPUBuffer, top: GPUBuffer, next: GPUBuffer, log: GPUBuffer): Dispatch {
    return {
      pipeline: this.#feedPipeline,
      bindGroup: this.#ctx.bindGroup(this.#feedPipeline, [params, top, next, log], "sample-feed"),
      grid: (rows) => [Math.ceil(rows / SAMPLE_WG), 1, 1],
    };
  }

  /**
   * Binds the candidates of logits rows [0, rows) (one workgroup per row).
   *
   * @param b Buffers: logits [rows, V] f32; seen [rows, G] u32; seenCount [rows] u32; top
   *   [rows, 2M + 3] u32; gathered [rows, G] f32.
   * @param v V.
   * @param m M (1 ≤ M < V).
   * @param g G (≥ 1).
   * @param limit Ids at or above this rank last (V for none).
   * @returns The dispatch and its parameter buffer (owned by the caller).
   * @throws {RangeError} When M or G is out of range.
   */
  bind(
    b: {
      logits: GPUBuffer;
      seen: GPUBuffer;
      seenCount: GPUBuffer;
      top: GPUBuffer;
      gathered: GPUBuffer;
    },
    v: number,
    m: number,
    g: number,
    limit: number,
  ): { dispatch: Dispatch; params: GPUBuffer } {
    if (!Number.isInteger(m) || m < 1 || m >= v) {
      throw new RangeError(`Invalid candidate count M: got ${m}, expected an integer in [1, ${v})`);
    }
    if (!Number.isInteger(g) || g < 1) {
      throw new RangeError(`Invalid gather width G: got ${g}, expected a positive integer`);
    }
    const params = this.#ctx.uniform(
      new Uint32Array([v, Math.min(limit, v), m, g]),
      "sample-params",
    );
    return {
      dispatch: {
        pipeline: this.#pipeline,
        bindGroup: this.#ctx.bindGroup(
          this.#pipeline,
          [params, b.logits, b.seen, b.seenCount, b.top, b.gathered],
          "sample",
        ),
        grid: (rows) => [rows, 1, 1],
      },
      params,
    };
  }

  /**
   * Uploads logits rows and returns their candidates (for tests and one-off use).
   *
   * @param logits [rows, V] float32.
   * @param v V.
   * @param m M.
   * @param options Vocab limit; per-row ids to gather.
   * @returns One candidates record per row.
   * @throws {RangeError} When the shape is inconsistent.
   */
  async candidates(
    logits: Float32Array,
    v: number,
    m: number,
    options: { limit?: number; seen?: readonly (readonly number[])[] } = {},
  ): Promise<RowCandidates[]> {
    if (!Number.isInteger(v) || v < 2 || logits.length % v !== 0) {
      throw new RangeError(
        `Cannot split ${logits.length} logits into rows of ${v}: expected a divisor ≥ 2`,
      );
    }
    const ctx = this.#ctx;
    const rows = logits.length / v;
    const seen = options.seen ?? [];
    const g = Math.max(1, ...seen.map((s) => s.length));
    const stride = candidateRowWords(m);
    const seenWords = new Uint32Array(rows * g);
    const counts = new Uint32Array(rows);
    seen.forEach((ids, r) => {
      seenWords.set(ids, r * g);
      counts[r] = ids.length;
    });
    const made = [
      ctx.storage(logits.byteLength, "sample-logits"),
      ctx.storage(seenWords.byteLength, "sample-seen"),
      ctx.storage(counts.byteLength, "sample-seen-count"),
      ctx.storage(rows * stride * 4, "sample-top"),
      ctx.storage(rows * g * 4, "sample-gathered"),
    ];
    const [lb, sb, cb, tb, gb] = made;
    try {
      ctx.write(lb, 0, logits);
      ctx.write(sb, 0, seenWords);
      ctx.write(cb, 0, counts);
      const { dispatch, params } = this.bind(
        { logits: lb, seen: sb, seenCount: cb, top: tb, gathered: gb },
        v,
        m,
        g,
        options.limit ?? v,
      );
      made.push(params);
      const enc = ctx.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      encodeDispatch(pass, dispatch, rows);
      pass.end();
      ctx.device.queue.submit([enc.finish()]);
      const [top, gathered] = await Promise.all([
        ctx.read(tb, 0, rows * stride * 4),
        ctx.read(gb, 0, rows * g * 4),
      ]);
      const t = new Uint32Array(top);
      const gf = new Float32Array(gathered);
      return Array.from({ length: rows }, (_, r) =>
        decodeCandidateRow(
          t.subarray(r * stride, (r + 1) * stride),
          m,
          seen[r] ?? [],
          gf.slice(r * g, r * g + counts[r]),
        ));
    } finally {
      for (const b of made) ctx.release(b);
    }
  }
}
