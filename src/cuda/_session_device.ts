/**
 * The device half of a CUDA generation session's `select`: the session's kept logits [B, V] and
 * the buffers the candidates, log-prob and greedy-feed kernels write, allocated on first use and
 * freed with the session.
 *
 * Legend: B rows, V vocabulary, M candidates, G gather width (positions per row).
 *
 * @module
 */

import type { GreedySteps } from "../model/model.ts";
import type { RowSpec } from "./_rows.ts";
import type { CudaContext, DeviceBuffer } from "./context.ts";
import type { DeviceOps, DeviceRead } from "./cuda_generation.ts";
import type { CudaCandidates } from "./sample.ts";
import { candidateRowWords } from "../model/sampling.ts";

/** What the session device needs from its model (closures over the model's private state). */
export interface SessionDeviceModel {
  /** The candidates kernels. */
  sampler: CudaCandidates;
  /** Queues lm_head of the session's B last rows into `out` ([B, V] f32). */
  lmHead(out: DeviceBuffer): void;
  /** Queues the log-prob kernel for `rows` rows of `logits` (targets: `targets`) into `out`. */
  logprobs(out: DeviceBuffer | bigint, logits: DeviceBuffer, rows: number): void;
  /** Runs rows through the model (a decode step: graph replay) without uploading tokens when asked. */
  runRows(
    rows: readonly RowSpec[],
    copies: readonly [number, number][],
    reusable: boolean,
    uploadTokens?: boolean,
  ): void;
  /** The model's token buffer ([R] i32) that the forward embeds. */
  tokens: DeviceBuffer;
  /** The model's log-prob targets ([R] int2: target, eos). */
  targets: DeviceBuffer;
}

/** Buffers of one session's device decoding. */
interface Buffers {
  logits: DeviceBuffer;
  seen: DeviceBuffer;
  seenCount: DeviceBuffer;
  gathered: DeviceBuffer;
  lp: DeviceBuffer;
}

/** {@link DeviceOps} over one session's buffers. */
export class SessionDevice implements DeviceOps {
  readonly gatherWidth: number;
  readonly #ctx: CudaContext;
  readonly #v: number;
  readonly #b: number;
  readonly #m: SessionDeviceModel;
  #buf: Buffers | null = null;
  /** Candidates output, sized for the largest M asked so far. */
  #top: { buf: DeviceBuffer; m: number } | null = null;
  /** Greedy logs, sized for the most steps asked so far. */
  #log: { tokens: DeviceBuffer; lp: DeviceBuffer; steps: number } | null = null;
  #queued = { logprobs: false, m: null as number | null };

  /**
   * @param model The model (context and V).
   * @param batch B.
   * @param maxLen G.
   * @param ops The model's closures.
   */
  constructor(
    model: { context: CudaContext; vocabSize: number },
    batch: number,
    maxLen: number,
    ops: SessionDeviceModel,
  ) {
    this.#ctx = model.context;
    this.#v = model.vocabSize;
    this.#b = batch;
    this.gatherWidth = maxLen;
    this.#m = ops;
  }

  #buffers(): Buffers {
    if (this.#buf) return this.#buf;
    const ctx = this.#ctx;
    const B = this.#b, G = this.gatherWidth;
    const made: DeviceBuffer[] = [];
    const alloc = (bytes: number, label: string) => {
      const b = ctx.alloc(bytes, label);
      made.push(b);
      return b;
    };
    try {
      this.#buf = {
        logits: alloc(B * this.#v * 4, "session-logits"),
        seen: alloc(B * G * 4, "session-seen"),
        seenCount: alloc(B * 4, "session-seen-count"),
        gathered: alloc(B * G * 4, "session-gathered"),
        lp: alloc(B * 8, "session-logprobs"),
      };
    } catch (e) {
      for (const b of made) ctx.free(b);
      throw e;
    }
    ctx.fill(this.#buf.seenCount, 0);
    return this.#buf;
  }

  #topFor(m: number): DeviceBuffer {
    if (this.#top && this.#top.m >= m) return this.#top.buf;
    if (this.#top) this.#ctx.free(this.#top.buf);
    this.#top = null;
    const buf = this.#ctx.alloc(this.#b * candidateRowWords(m) * 4, "session-top");
    this.#top = { buf, m };
    return buf;
  }

  keepLogits(): void {
    this.#m.lmHead(this.#buffers().logits);
  }

  #writeTargets(tokens: readonly number[]): void {
    const t = new Int32Array(2 * this.#b);
    tokens.forEach((id, b) => t.set([id, -1], 2 * b));
    this.#ctx.upload(this.#m.targets, t);
  }

  queueLogprobs(tokens: readonly number[]): void {
    const buf = this.#buffers();
    this.#writeTargets(tokens);
    this.#m.logprobs(buf.lp, buf.logits, this.#b);
    this.#queued.logprobs = true;
  }

  writeSeen(row: number, offset: number, ids: Uint32Array): void {
    this.#ctx.upload(this.#buffers().seen, ids, (row * this.gatherWidth + offset) * 4);
  }

  writeSeenCounts(counts: Uint32Array): void {
    this.#ctx.upload(this.#buffers().seenCount, counts);
  }

  queueCandidates(m: number, limit: number): void {
    const buf = this.#buffers();
    const top = this.#topFor(m);
    this.#m.sampler.launch(
      {
        top,
        gathered: buf.gathered,
        logits: buf.logits,
        seen: buf.seen,
        seenCount: buf.seenCount,
      },
      this.#b,
      this.#v,
      m,
      this.gatherWidth,
      limit,
    );
    this.#queued.m = m;
  }

  read(want: { logprobs: boolean; m: number | null; gather: boolean }): DeviceRead {
    const buf = this.#buffers();
    const B = this.#b;
    const out: DeviceRead = { logprobs: null, top: null, gathered: null };
    // The first download waits for the stream; the rest are small copies.
    if (want.m !== null && this.#queued.m === want.m) {
      out.top = new Uint32Array(B * candidateRowWords(want.m));
      this.#ctx.download(out.top, this.#top!.buf);
      if (want.gather) {
        out.gathered = new Float32Array(B * this.gatherWidth);
        this.#ctx.download(out.gathered, buf.gathered);
      }
    }
    if (want.logprobs && this.#queued.logprobs) {
      const lp = new Float32Array(2 * B);
      this.#ctx.download(lp, buf.lp);
      out.logprobs = Float32Array.from({ length: B }, (_, b) => lp[2 * b]);
    }
    this.#queued = { logprobs: false, m: null };
    return out;
  }

  keptLogits(): Float32Array {
    const out = new Float32Array(this.#b * this.#v);
    this.#ctx.download(out, this.#buffers().logits);
    return out;
  }

  greedy(
    tokens: readonly number[],
    steps: number,
    m: number,
    limit: number,
    rows: (j: number) => RowSpec[],
  ): GreedySteps {
    const ctx = this.#ctx;
    const B = this.#b;
    const buf = this.#buffers();
    const top = this.#topFor(m);
    if (!this.#log || this.#log.steps < steps) {
      if (this.#log) {
        ctx.free(this.#log.tokens);
        ctx.free(this.#log.lp);
        this.#log = null;
      }
      const t = ctx.alloc(steps * B * 4, "greedy-tokens");
      try {
        this.#log = { tokens: t, lp: ctx.alloc(steps * B * 8, "greedy-logprobs"), steps };
      } catch (e) {
        ctx.free(t);
        throw e;
      }
    }
    const log = this.#log;
    // Step 0's fed tokens and log-prob targets come from the host; later ones from the feed.
    this.#writeTargets(tokens);
    for (let j = 0; j < steps; j++) {
      // log p(fed token | ..) under the logits it was chosen from, before this step replaces them.
      this.#m.logprobs(log.lp.ptr + BigInt(j * B * 8), buf.logits, B);
      const specs = rows(j);
      if (j === 0) specs.forEach((r, b) => (r.token = tokens[b]));
      this.#m.runRows(specs, specs.map((_, b) => [b, b]), true, j === 0);
      this.#m.lmHead(buf.logits);
      this.#m.sampler.launch(
        {
          top,
          gathered: buf.gathered,
          logits: buf.logits,
          seen: buf.seen,
          seenCount: buf.seenCount,
        },
        B,
        this.#v,
        m,
        this.gatherWidth,
        limit,
      );
      this.#m.sampler.launchFeed(this.#m.tokens, this.#m.targets, log.tokens, top, B, m, j * B);
    }
    const words = new Uint32Array(steps * B);
    const lp = new Float32Array(steps * B * 2);
    ctx.download(words, log.tokens);
    ctx.download(lp, log.lp);
    return {
      tokens: Int32Array.from(words, (w) => w & 0x7fffffff),
      nan: Uint8Array.from(words, (w) => (w >>> 31) & 1),
      logprobs: Float32Array.from({ length: steps * B }, (_, i) => lp[2 * i]),
    };
  }

  /** Frees the buffers. */
  free(): void {
    const ctx = this.#ctx;
    if (this.#buf) { for (const b of Object.values(this.#buf)) ctx.free(b); }
    if (this.#top) ctx.free(this.#top.buf);
    if (this.#log) {
      ctx.free(this.#log.tokens);
      ctx.free(this.#log.lp);
    }
    this.#buf = null;
    this.#top = null;
    this.#log = null;
  }
}
