/**
 * Token candidates on a CUDA device (`shaders/cuda/sample.cu`): the contract and outputs of the
 * WebGPU kernel (src/gpu/sample.ts), so that decoding reads back a few hundred bytes per row
 * instead of V floats and `sampleFromCandidates` still chooses the token the full row would give.
 *
 * Legend: rows B, vocabulary V, M candidates, G gathered ids per row.
 *
 * @module
 */

import common from "../../shaders/cuda/common.cu" with { type: "text" };
import sample from "../../shaders/cuda/sample.cu" with { type: "text" };
import { candidateRowWords, decodeCandidateRow, type RowCandidates } from "../model/sampling.ts";
import type { CudaContext, DeviceBuffer } from "./context.ts";
import { THREADS } from "./kernels_source.ts";

/** Buffers of one `sample_topm` launch (see shaders/cuda/sample.cu for shapes). */
export interface CandidatesBuffers {
  /** [rows, 2M + 3] u32 (written). */
  top: DeviceBuffer;
  /** [rows, G] f32 (written). */
  gathered: DeviceBuffer;
  /** [rows, V] f32. */
  logits: DeviceBuffer;
  /** [rows, G] u32. */
  seen: DeviceBuffer;
  /** [rows] u32. */
  seenCount: DeviceBuffer;
}

/**
 * The candidates kernel family on one context, from the model's compiled program or compiled
 * on its own ({@link CudaCandidates.compile}).
 *
 * @example The two largest of a row, where a CUDA device exists
 * ```ts
 * import { CudaContext, hasCudaDevice } from "./context.ts";
 * import { CudaCandidates } from "./sample.ts";
 * if (hasCudaDevice()) {
 *   const ctx = CudaContext.create();
 *   const k = CudaCandidates.compile(ctx);
 *   const [c] = k.candidates(new Float32Array([0, 4, 1, 3, 2]), 5, 2);
 *   ctx.destroy();
 *   if ([...c.ids].sort().join() !== "1,3" || c.rho !== 2) throw new Error();
 * }
 * ```
 */
export class CudaCandidates {
  readonly #ctx: CudaContext;
  readonly #topm: Deno.PointerObject;
  readonly #feed: Deno.PointerObject;

  /**
   * Wraps compiled entry points.
   *
   * @param ctx The context they were loaded on.
   * @param fn Entry points by name (needs sample_topm and sample_feed).
   */
  constructor(ctx: CudaContext, fn: ReadonlyMap<string, Deno.PointerObject>) {
    const topm = fn.get("sample_topm"), feed = fn.get("sample_feed");
    if (!topm || !feed) {
      throw new TypeError("Missing entry sample_topm or sample_feed in the module");
    }
    this.#ctx = ctx;
    this.#topm = topm;
    this.#feed = feed;
  }

  /**
   * Compiles common.cu + sample.cu on their own (tests, one-off use).
   *
   * @param ctx The context.
   * @param source Another text of sample.cu (to benchmark a variant); default the shipped one.
   * @returns The kernels.
   * @throws {CudaError} When NVRTC or the driver fails.
   */
  static compile(ctx: CudaContext, source: string = sample): CudaCandidates {
    const mod = ctx.loadModule(`${common}\n${source}`, ["sample_topm", "sample_feed"]);
    return new CudaCandidates(ctx, mod.functions);
  }

  /**
   * Queues candidates of logits rows [0, rows) (one block per row).
   *
   * @param b Buffers.
   * @param rows Rows.
   * @param v V.
   * @param m M (1 ≤ M < V).
   * @param g G (≥ 1).
   * @param limit Ids at or above this rank last (V for none).
   * @throws {RangeError} When M or G is out of range.
   */
  launch(b: CandidatesBuffers, rows: number, v: number, m: number, g: number, limit: number): void {
    if (!Number.isInteger(m) || m < 1 || m >= v) {
      throw new RangeError(`Invalid candidate count M: got ${m}, expected an integer in [1, ${v})`);
    }
    if (!Number.isInteger(g) || g < 1) {
      throw new RangeError(`Invalid gather width G: got ${g}, expected a positive integer`);
    }
    this.#ctx.launch(this.#topm, [rows, 1, 1], [THREADS.sample, 1, 1], [
      { ptr: b.top },
      { ptr: b.gathered },
      { ptr: b.logits },
      { ptr: b.seen },
      { ptr: b.seenCount },
      { i32: v },
      { i32: Math.min(limit, v) },
      { i32: m },
      { i32: g },
    ], "sample_topm");
  }

  /**
   * Queues the greedy feed: per row, the argmax of its M candidates in `top` goes to `next[row]`,
   * to `targets[row]` as (id, -1) and to `log[logOffset + row]` (bit 31 set when the row held a
   * NaN).
   *
   * @param next [rows] i32 (the tokens the next step embeds).
   * @param targets [rows] int2 (the next log-prob targets).
   * @param log [steps × rows] u32.
   * @param top The candidates of {@link launch}.
   * @param rows Rows.
   * @param m M.
   * @param logOffset Word offset in `log`.
   */
  launchFeed(
    next: DeviceBuffer,
    targets: DeviceBuffer,
    log: DeviceBuffer,
    top: DeviceBuffer,
    rows: number,
    m: number,
    logOffset: number,
  ): void {
    this.#ctx.launch(this.#feed, [Math.ceil(rows / THREADS.sample), 1, 1], [
      THREADS.sample,
      1,
      1,
    ], [
      { ptr: next },
      { ptr: targets },
      { ptr: log },
      { ptr: top },
      { i32: rows },
      { i32: m },
      { i32: logOffset },
    ], "sample_feed");
  }

  /**
   * Uploads logits rows and returns their candidates (tests and one-off use).
   *
   * @param logits [rows, V] float32.
   * @param v V.
   * @param m M.
   * @param options Vocab limit; per-row ids to gather.
   * @returns One candidates record per row.
   * @throws {RangeError} When the shape is inconsistent.
   */
  candidates(
    logits: Float32Array,
    v: number,
    m: number,
    options: { limit?: number; seen?: readonly (readonly number[])[] } = {},
  ): RowCandidates[] {
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
    const made: DeviceBuffer[] = [];
    const alloc = (bytes: number, label: string) => {
      const b = ctx.alloc(bytes, label);
      made.push(b);
      return b;
    };
    try {
      const b: CandidatesBuffers = {
        logits: alloc(logits.byteLength, "sample-logits"),
        seen: alloc(seenWords.byteLength, "sample-seen"),
        seenCount: alloc(counts.byteLength, "sample-seen-count"),
        top: alloc(rows * stride * 4, "sample-top"),
        gathered: alloc(rows * g * 4, "sample-gathered"),
      };
      ctx.upload(b.logits, logits);
      ctx.upload(b.seen, seenWords);
      ctx.upload(b.seenCount, counts);
      this.launch(b, rows, v, m, g, options.limit ?? v);
      const top = new Uint32Array(rows * stride);
      const gathered = new Float32Array(rows * g);
      ctx.download(top, b.top);
      ctx.download(gathered, b.gathered);
      return Array.from({ length: rows }, (_, r) =>
        decodeCandidateRow(
          top.subarray(r * stride, (r + 1) * stride),
          m,
          seen[r] ?? [],
          gathered.slice(r * g, r * g + counts[r]),
        ));
    } finally {
      for (const b of made) ctx.free(b);
    }
  }
}
