/**
 * GPU time per kernel family from timestamp queries: when on, every dispatch gets its own compute
 * pass with begin/end timestamps, and the durations are summed by label.
 *
 * @module
 */

import type { GpuContext } from "./context.ts";

const MAX_QUERIES = 4096;

/**
 * Collects per-label GPU nanoseconds (needs `timestamp-query`).
 *
 * @example
 * ```ts
 * import { GpuContext } from "./context.ts";
 * import { GpuProfiler } from "./profiler.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   if (ctx.hasTimestamps) {
 *     const prof = new GpuProfiler(ctx);
 *     const enc = ctx.device.createCommandEncoder();
 *     enc.beginComputePass({ timestampWrites: prof.next("empty") }).end();
 *     ctx.device.queue.submit([enc.finish()]);
 *     await prof.flush();
 *     if (!prof.totals().has("empty")) throw new Error();
 *   }
 *   ctx.destroy();
 * }
 * ```
 */
export class GpuProfiler {
  readonly #ctx: GpuContext;
  readonly #set: GPUQuerySet;
  readonly #resolve: GPUBuffer;
  #labels: string[] = [];
  readonly #totals = new Map<string, number>();

  /**
   * Makes the query set (4096 timestamps) and its resolve buffer.
   *
   * @param ctx A context with timestamps.
   */
  constructor(ctx: GpuContext) {
    this.#ctx = ctx;
    this.#set = ctx.device.createQuerySet({ type: "timestamp", count: MAX_QUERIES });
    this.#resolve = ctx.buffer(
      MAX_QUERIES * 8,
      GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      "timestamps",
    );
  }

  /** Whether another pass fits before {@link flush}. */
  get full(): boolean {
    return this.#labels.length * 2 >= MAX_QUERIES;
  }

  /**
   * The timestampWrites of the next pass, labelled.
   *
   * @param label Kernel family.
   * @returns The descriptor.
   */
  next(label: string): GPUComputePassTimestampWrites {
    const i = this.#labels.length;
    this.#labels.push(label);
    return {
      querySet: this.#set,
      beginningOfPassWriteIndex: 2 * i,
      endOfPassWriteIndex: 2 * i + 1,
    };
  }

  /**
   * Resolves the queries of submitted passes and adds them to the totals. Call after the submit
   * that holds them.
   */
  async flush(): Promise<void> {
    const n = this.#labels.length;
    if (n === 0) return;
    const enc = this.#ctx.device.createCommandEncoder();
    enc.resolveQuerySet(this.#set, 0, 2 * n, this.#resolve, 0);
    this.#ctx.device.queue.submit([enc.finish()]);
    const t = new BigUint64Array(await this.#ctx.read(this.#resolve, 0, 16 * n));
    for (let i = 0; i < n; i++) {
      const ns = Number(t[2 * i + 1] - t[2 * i]);
      const label = this.#labels[i];
      this.#totals.set(label, (this.#totals.get(label) ?? 0) + ns);
    }
    this.#labels = [];
  }

  /** Nanoseconds summed per label. */
  totals(): Map<string, number> {
    return new Map(this.#totals);
  }

  /** Clears the totals. */
  reset(): void {
    this.#totals.clear();
  }

  /** Frees the query set and the resolve buffer. */
  destroy(): void {
    this.#set.destroy();
    this.#ctx.release(this.#resolve);
  }
}
