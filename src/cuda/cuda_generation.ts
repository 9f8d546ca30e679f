/**
 * A KV-cached generation session of the CUDA model (see `CudaModel.startGeneration`): B rows,
 * each with its own region of `maxLen` KV rows; rows sharing a prompt (a GRPO group) compute it
 * once and copy its KV rows.
 *
 * @module
 */

import { ModelError } from "../model/errors.ts";
import type { GenerationSession } from "../model/model.ts";
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
  }

  #check(): void {
    if (this.#disposed) {
      throw new ModelError("disposed", "Cannot use the generation session: it was disposed");
    }
    this.#ops.check();
  }

  #checkTokens(tokens: readonly number[], where: string): void {
    const V = this.#ops.vocabSize;
    tokens.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= V) {
        throw new ModelError(
          "bad_token",
          `Invalid token ${t} at ${where} ${i}: expected an integer in [0, ${V})`,
        );
      }
    });
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
      return Promise.resolve(this.#prefill(prompts));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #prefill(prompts: readonly (readonly number[])[]): Float32Array {
    this.#check();
    const B = this.#batch;
    if (this.#lens !== null) {
      throw new ModelError("state", "Cannot prefill twice: start a new session");
    }
    if (prompts.length !== B) {
      throw new ModelError(
        "bad_input",
        `Expected ${B} prompts (the session's batch), got ${prompts.length}`,
      );
    }
    prompts.forEach((p, b) => {
      if (p.length === 0) {
        throw new ModelError("bad_input", `Prompt ${b} is empty; expected at least one token`);
      }
      if (p.length > this.#maxLen) {
        throw new ModelError(
          "cache_full",
          `Prompt ${b} has ${p.length} tokens; the session holds ${this.#maxLen} per row`,
        );
      }
      this.#checkTokens(p, `prompt ${b} position`);
    });
    // A GRPO group shares one prompt: compute each distinct prompt once.
    const owner = new Map<string, number>();
    const source: number[] = [];
    prompts.forEach((p, b) => {
      const key = p.join(",");
      if (!owner.has(key)) owner.set(key, b);
      source.push(owner.get(key)!);
    });
    const rows: RowSpec[] = [];
    const lastRowOf = new Map<number, number>();
    for (const b of new Set(source)) {
      const base = b * this.#maxLen;
      prompts[b].forEach((token, pos) =>
        rows.push({ token, pos, kvRow: base + pos, kvBase: base })
      );
      lastRowOf.set(b, rows.length - 1);
    }
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
    return this.#ops.logits(B);
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
      return Promise.resolve(this.#step(tokens));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #step(tokens: readonly number[]): Float32Array {
    this.#check();
    const B = this.#batch;
    if (this.#lens === null) throw new ModelError("state", "Cannot step before prefill");
    if (tokens.length !== B) {
      throw new ModelError("bad_input", `Expected ${B} tokens (one per row), got ${tokens.length}`);
    }
    this.#checkTokens(tokens, "row");
    const lens = this.#lens;
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
    return this.#ops.logits(B);
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
