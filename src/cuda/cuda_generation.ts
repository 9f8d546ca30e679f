/**
 * A KV-cached generation session of the CUDA model (see `CudaModel.startGeneration`): B rows,
 * each with its own region of `maxLen` KV rows; rows sharing a prompt (a GRPO group) compute it
 * once and copy its KV rows. `select` keeps each step's logits on the device and reads back only
 * the candidates `sampleFromCandidates` needs (shaders/cuda/sample.cu), plus the fed tokens'
 * log-probs from the proof forward's kernel; `select.greedy` feeds argmaxes on the device.
 *
 * @module
 */

import { checkPrompts, checkToken, sharedPromptRows } from "../model/batch_rows.ts";
import { ModelError } from "../model/errors.ts";
import type { DeviceSelect, GenerationSession, GreedySteps, SelectResult } from "../model/model.ts";
import {
  type CandidateRequest,
  candidateRowWords,
  decodeCandidateRow,
  type RowCandidates,
} from "../model/sampling.ts";
import type { RowSpec } from "./_rows.ts";

/** What a session asks of its model (closures over the model's private state). */
export interface SessionOps {
  /** Throws when the model was disposed. */
  check(): void;
  /** V. */
  vocabSize: number;
  /** R. */
  maxRowsPerPass: number;
  /**
   * Runs rows through the model; copies final-hidden rows (pass row → session row). `reusable`:
   * a decode step, whose shape repeats (the model may replay it as a captured graph).
   */
  run(rows: readonly RowSpec[], copies: readonly [number, number][], reusable: boolean): void;
  /** Copies `count` KV rows of every layer from `fromRow` to `toRow` (same cache). */
  copyKvRows(fromRow: number, toRow: number, count: number): void;
  /** Logits [n, V] of session rows [0, n). */
  logits(n: number): Float32Array;
  /** Final hidden states [n, C] of session rows [0, n). */
  hidden(n: number): Float32Array;
  /** Logits kept on the device; absent where the model cannot keep them. */
  device?: DeviceOps;
}

/** What one {@link DeviceOps.read} returns. */
export interface DeviceRead {
  /** [B] log-probs, when queued since the last read. */
  logprobs: Float32Array | null;
  /** [B, 2M + 3] candidates words, when queued. */
  top: Uint32Array | null;
  /** [B, G] gathered logits, when asked. */
  gathered: Float32Array | null;
}

/**
 * Session operations that keep the logits on the device: a [B, V] f32 buffer of the session
 * (the "kept logits") that the candidates and log-prob kernels read.
 */
export interface DeviceOps {
  /** G: ids each row's gather list holds (the session's positions per row). */
  readonly gatherWidth: number;
  /** Queues lm_head of the session's latest hidden rows into the kept logits. */
  keepLogits(): void;
  /** Queues log p(tokens[b] | ..) under the kept logits (the proof forward's kernel). */
  queueLogprobs(tokens: readonly number[]): void;
  /** Uploads ids to row `row`'s gather list at `offset`. */
  writeSeen(row: number, offset: number, ids: Uint32Array): void;
  /** Uploads each row's gather-list length. */
  writeSeenCounts(counts: Uint32Array): void;
  /** Queues the candidates of the kept logits (M, vocab limit). */
  queueCandidates(m: number, limit: number): void;
  /** Waits for the stream and reads what was queued. */
  read(want: { logprobs: boolean; m: number | null; gather: boolean }): DeviceRead;
  /** The kept logits [B*V]. */
  keptLogits(): Float32Array;
  /**
   * Greedy steps on the device: feeds `tokens`, then each step's argmax of M candidates (ids ≥
   * limit never chosen); `rows(j)` gives step j's rows (token ignored: the device feeds it).
   * Returns step-major tokens, NaN flags and fed-token log-probs.
   */
  greedy(
    tokens: readonly number[],
    steps: number,
    m: number,
    limit: number,
    rows: (j: number) => RowSpec[],
  ): GreedySteps;
}

/**
 * A generation session on the CUDA model.
 *
 * @example Prefill and one step where a CUDA device exists
 * ```ts
 * import { makeTinyModel } from "../model/tiny.ts";
 * import { openCheckpoint } from "../model/checkpoint.ts";
 * import { hasCudaDevice } from "./context.ts";
 * import { CudaModel } from "./cuda_model.ts";
 * if (hasCudaDevice()) {
 *   const dir = await Deno.makeTempDir();
 *   await makeTinyModel(dir, { architecture: "qwen2", seed: 2 });
 *   const ckpt = await openCheckpoint(dir);
 *   const model = await CudaModel.load(ckpt);
 *   ckpt.close();
 *   const session = model.startGeneration(2, 8);
 *   await session.prefill([[1, 2], [1, 2]]);
 *   const logits = await session.step([3, 4]);
 *   session.dispose();
 *   model.dispose();
 *   await Deno.remove(dir, { recursive: true });
 *   if (logits.length !== 2 * model.vocabSize) throw new Error();
 * }
 * ```
 */
export class CudaGenerationSession implements GenerationSession {
  readonly #ops: SessionOps;
  readonly #batch: number;
  readonly #maxLen: number;
  readonly #onDispose: () => void;
  #lens: number[] | null = null;
  #disposed = false;
  /** Whether the kept logits are the latest step's (set by select calls only). */
  #hasLogits = false;
  /** Per row, its distinct ids in first-seen order (prompt and fed tokens), and how many are on the device. */
  readonly #seen: { list: number[]; set: Set<number>; synced: number }[];
  /** Decoding with the logits kept on the device; absent when the model cannot keep them. */
  readonly select?: DeviceSelect;

  /**
   * Makes a session (the model does; see `CudaModel.startGeneration`).
   *
   * @param ops The model's operations.
   * @param batch B.
   * @param maxLen Positions per row.
   * @param onDispose Frees the cache.
   */
  constructor(ops: SessionOps, batch: number, maxLen: number, onDispose: () => void) {
    this.#ops = ops;
    this.#batch = batch;
    this.#maxLen = maxLen;
    this.#onDispose = onDispose;
    this.#seen = Array.from({ length: batch }, () => ({ list: [], set: new Set(), synced: 0 }));
    const device = ops.device;
    if (device) {
      const call = <T>(fn: () => T): Promise<T> => {
        try {
          return Promise.resolve(fn());
        } catch (e) {
          return Promise.reject(e);
        }
      };
      this.select = {
        prefill: (prompts, request) => call(() => this.#selectPrefill(device, prompts, request)),
        step: (tokens, request) => call(() => this.#selectStep(device, tokens, request)),
        logits: () => call(() => this.#keptLogits(device)),
        logprobs: (tokens) => call(() => this.#lastLogprobs(device, tokens)),
        greedy: (tokens, steps, request) =>
          call(() => this.#greedy(device, tokens, steps, request)),
      };
    }
  }

  #see(row: number, id: number): void {
    const s = this.#seen[row];
    if (!s.set.has(id)) {
      s.set.add(id);
      s.list.push(id);
    }
  }

  #check(): void {
    if (this.#disposed) {
      throw new ModelError("disposed", "Cannot use the generation session: it was disposed");
    }
    this.#ops.check();
  }

  #checkTokens(tokens: readonly number[], where: string): void {
    tokens.forEach((t, i) => checkToken(t, this.#ops.vocabSize, `${where} ${i}`));
  }

  /**
   * Runs the prompts; rows with identical prompts are computed once and their KV copied.
   *
   * @param prompts B prompts.
   * @returns Logits [B*V] at each row's last prompt position.
   * @throws {ModelError} state (second prefill), bad_input, cache_full, bad_token, disposed.
   */
  prefill(prompts: readonly (readonly number[])[]): Promise<Float32Array> {
    try {
      this.#prefill(prompts);
      this.#hasLogits = false;
      return Promise.resolve(this.#ops.logits(this.#batch));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Runs the prompts; the rows' final hidden states land in the session's last rows. */
  #prefill(prompts: readonly (readonly number[])[]): void {
    this.#check();
    const B = this.#batch;
    checkPrompts(prompts, B, this.#maxLen, this.#ops.vocabSize, this.#lens !== null);
    const { rows, source, lastRowOf } = sharedPromptRows(prompts, this.#maxLen);
    const R = this.#ops.maxRowsPerPass;
    for (let r0 = 0; r0 < rows.length; r0 += R) {
      const chunk = rows.slice(r0, r0 + R);
      const copies: [number, number][] = [];
      for (let b = 0; b < B; b++) {
        const last = lastRowOf.get(source[b])!;
        if (last >= r0 && last < r0 + chunk.length) copies.push([last - r0, b]);
      }
      this.#ops.run(chunk, copies, false);
    }
    source.forEach((src, b) => {
      if (src !== b) {
        this.#ops.copyKvRows(src * this.#maxLen, b * this.#maxLen, prompts[b].length);
      }
    });
    this.#lens = prompts.map((p) => p.length);
    prompts.forEach((p, b) => p.forEach((id) => this.#see(b, id)));
  }

  /**
   * Appends one token per row.
   *
   * @param tokens B tokens.
   * @returns Logits [B*V] at the new positions.
   * @throws {ModelError} state (before prefill), bad_input, cache_full, bad_token, disposed.
   */
  step(tokens: readonly number[]): Promise<Float32Array> {
    try {
      this.#checkStep(tokens);
      this.#step(tokens);
      this.#hasLogits = false;
      return Promise.resolve(this.#ops.logits(this.#batch));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #checkStep(tokens: readonly number[]): number[] {
    this.#check();
    const B = this.#batch;
    if (this.#lens === null) throw new ModelError("state", "Cannot step before prefill");
    if (tokens.length !== B) {
      throw new ModelError("bad_input", `Expected ${B} tokens (one per row), got ${tokens.length}`);
    }
    this.#checkTokens(tokens, "row");
    return this.#lens;
  }

  /** Appends the (checked) tokens; their final hidden states land in the session's last rows. */
  #step(tokens: readonly number[]): void {
    const B = this.#batch;
    const lens = this.#lens!;
    const rows: RowSpec[] = tokens.map((token, b) => {
      if (lens[b] >= this.#maxLen) {
        throw new ModelError(
          "cache_full",
          `Row ${b} holds ${lens[b]} of ${this.#maxLen} positions; cannot append`,
        );
      }
      const base = b * this.#maxLen;
      return { token, pos: lens[b], kvRow: base + lens[b], kvBase: base };
    });
    this.#ops.run(rows, rows.map((_, b) => [b, b]), true);
    for (let b = 0; b < B; b++) lens[b]++;
    tokens.forEach((id, b) => this.#see(b, id));
  }

  /** Checks M and the limit; uploads the gather lists' new ids when the request gathers. */
  #prepare(device: DeviceOps, request: CandidateRequest): { m: number; limit: number } {
    const V = this.#ops.vocabSize;
    const m = request.topM;
    if (!Number.isInteger(m) || m < 1 || m >= V) {
      throw new RangeError(`Invalid topM: got ${m}, expected an integer in [1, ${V})`);
    }
    const limit = request.vocabLimit ?? V;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`Invalid vocabLimit: got ${limit}, expected a non-negative integer`);
    }
    if (request.gatherSeen) {
      let changed = false;
      this.#seen.forEach((s, b) => {
        if (s.synced === s.list.length) return;
        device.writeSeen(b, s.synced, Uint32Array.from(s.list.slice(s.synced)));
        s.synced = s.list.length;
        changed = true;
      });
      if (changed) device.writeSeenCounts(Uint32Array.from(this.#seen, (s) => s.list.length));
    }
    return { m, limit: Math.min(limit, V) };
  }

  /** Queues the kept logits and their candidates, then reads everything queued. */
  #candidates(
    device: DeviceOps,
    request: CandidateRequest,
    logprobs: boolean,
  ): SelectResult {
    const { m, limit } = this.#prepare(device, request);
    device.keepLogits();
    this.#hasLogits = true;
    device.queueCandidates(m, limit);
    const read = device.read({ logprobs, m, gather: request.gatherSeen });
    const stride = candidateRowWords(m);
    const G = device.gatherWidth;
    const candidates: RowCandidates[] = this.#seen.map((s, b) =>
      decodeCandidateRow(
        read.top!.subarray(b * stride, (b + 1) * stride),
        m,
        request.gatherSeen ? s.list.slice() : [],
        read.gathered ? read.gathered.slice(b * G, b * G + s.list.length) : new Float32Array(0),
      )
    );
    return { candidates, logprobs: read.logprobs };
  }

  #selectPrefill(
    device: DeviceOps,
    prompts: readonly (readonly number[])[],
    request: CandidateRequest,
  ): SelectResult {
    this.#hasLogits = false;
    this.#prefill(prompts);
    return this.#candidates(device, request, false);
  }

  #selectStep(
    device: DeviceOps,
    tokens: readonly number[],
    request: CandidateRequest,
  ): SelectResult {
    this.#checkStep(tokens);
    // The fed tokens' log-probs come from the logits they were chosen from (kept since the last
    // select call), before this step overwrites them.
    const logprobs = this.#hasLogits;
    if (logprobs) device.queueLogprobs(tokens);
    this.#hasLogits = false;
    this.#step(tokens);
    return this.#candidates(device, request, logprobs);
  }

  #requireLogits(): void {
    this.#check();
    if (!this.#hasLogits) {
      throw new ModelError(
        "state",
        "No kept logits: call select.prefill or select.step first (plain prefill/step return theirs)",
      );
    }
  }

  #keptLogits(device: DeviceOps): Float32Array {
    this.#requireLogits();
    return device.keptLogits();
  }

  #lastLogprobs(device: DeviceOps, tokens: readonly number[]): Float32Array {
    this.#requireLogits();
    if (tokens.length !== this.#batch) {
      throw new ModelError(
        "bad_input",
        `Expected ${this.#batch} tokens (one per row), got ${tokens.length}`,
      );
    }
    this.#checkTokens(tokens, "row");
    device.queueLogprobs(tokens);
    return device.read({ logprobs: true, m: null, gather: false }).logprobs!;
  }

  #greedy(
    device: DeviceOps,
    tokens: readonly number[],
    steps: number,
    request: CandidateRequest,
  ): GreedySteps {
    this.#requireLogits();
    const B = this.#batch;
    const lens = this.#checkStep(tokens);
    const room = this.#maxLen - Math.max(...lens);
    if (!Number.isInteger(steps) || steps < 1 || steps > room) {
      throw new ModelError(
        "cache_full",
        `Invalid greedy steps ${steps}: expected an integer in [1, ${room}] (positions left per row)`,
      );
    }
    if (request.gatherSeen) {
      throw new RangeError(
        "Invalid request for greedy steps: gatherSeen (a repetition penalty) needs the host each step",
      );
    }
    const { m, limit } = this.#prepare(device, request);
    const rowsAt = (j: number): RowSpec[] =>
      lens.map((l, b) => ({
        token: 0,
        pos: l + j,
        kvRow: b * this.#maxLen + l + j,
        kvBase: b * this.#maxLen,
      }));
    this.#hasLogits = false;
    const out = device.greedy(tokens, steps, m, limit, rowsAt);
    for (let b = 0; b < B; b++) lens[b] += steps;
    // The fed tokens: `tokens`, then each step's argmax but the last.
    tokens.forEach((id, b) => this.#see(b, id));
    for (let i = 0; i < (steps - 1) * B; i++) this.#see(i % B, out.tokens[i]);
    this.#hasLogits = true;
    return out;
  }

  /**
   * Final hidden states [B*C] at each row's last processed position.
   *
   * @returns The hidden rows.
   * @throws {ModelError} state (before prefill), disposed.
   */
  lastHidden(): Promise<Float32Array> {
    try {
      this.#check();
      if (this.#lens === null) throw new ModelError("state", "No hidden states before prefill");
      return Promise.resolve(this.#ops.hidden(this.#batch));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Frees the cache. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#onDispose();
  }
}
