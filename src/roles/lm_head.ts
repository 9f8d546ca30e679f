/**
 * Logits rows from final hidden states, for the validator checks that need a whole row (the
 * token-distribution check under a temperature or repetition penalty). The `Model` interface
 * returns hidden states and chosen-token log-probs only, so the rows are rebuilt here from the
 * checkpoint's `lm_head` (or the tied embedding) on the CPU.
 *
 * Shapes: V vocabulary, C hidden size.
 *
 * @module
 */

import { openCheckpoint } from "../model/checkpoint.ts";

/** Computes the V logits of one hidden row. */
export interface LogitsSource {
  /** V. */
  readonly vocabSize: number;
  /**
   * Logits of `hidden[row*C .. (row+1)*C)`.
   *
   * @param hidden [T*C] final hidden states.
   * @param row Position t.
   * @returns [V] float32 logits.
   */
  logitsRow(hidden: Float32Array, row: number): Float32Array;
}

/**
 * Reads the output projection [V, C] of a checkpoint folder (`lm_head.weight`, or
 * `model.embed_tokens.weight` when the embeddings are tied).
 *
 * @param dir The checkpoint folder.
 * @returns A logits source using float64 accumulation.
 * @throws {CheckpointError} If the folder or tensor cannot be read.
 *
 * @example
 * ```ts
 * import { loadLogitsSource } from "./lm_head.ts";
 * const src = await loadLogitsSource(new URL("../../../shared/fixtures/qwen3-tiny", import.meta.url).pathname);
 * const row = src.logitsRow(new Float32Array(128).fill(0.5), 0);
 * if (row.length !== 2048) throw new Error();
 * ```
 */
export async function loadLogitsSource(dir: string): Promise<LogitsSource> {
  const ckpt = await openCheckpoint(dir);
  try {
    const C = ckpt.config.hiddenSize;
    const V = ckpt.config.vocabSize;
    const name = ckpt.tensors.has("lm_head.weight")
      ? "lm_head.weight"
      : "model.embed_tokens.weight";
    const w = await ckpt.readF32(name);
    return {
      vocabSize: V,
      logitsRow(hidden: Float32Array, row: number): Float32Array {
        const out = new Float32Array(V);
        const h0 = row * C;
        for (let v = 0; v < V; v++) {
          let s = 0;
          const w0 = v * C;
          for (let c = 0; c < C; c++) s += w[w0 + c] * hidden[h0 + c];
          out[v] = s;
        }
        return out;
      },
    };
  } finally {
    ckpt.close();
  }
}
