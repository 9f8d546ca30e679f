/**
 * The backend-neutral model interface that the CPU reference (`cpu_model.ts`) and the WebGPU
 * backend (`src/gpu/webgpu_model.ts`) implement, and that proofs and generation drive.
 *
 * Dimension legend: B batch rows, T positions, C hidden size, V vocabulary.
 *
 * @module
 */

import type { ModelConfig } from "./config.ts";

/** Options of {@link Model.proofForward}. */
export interface ProofForwardOptions {
  /** Token whose probability `eosProbs` reports; defaults to the config's first EOS id. */
  eosTokenId?: number;
  /**
   * Per sequence, the positions t at which to report p(eos | tokens[..t]), i.e. softmax of the
   * logits row t (row len−2 predicts the last token: the reference's termination check).
   */
  eosPositions?: readonly (readonly number[])[];
}

/** Outputs of {@link Model.proofForward} for one sequence. */
export interface ProofForwardResult {
  /** [T*C]: last hidden state after the final norm (the lm_head input), position-major. */
  hidden: Float32Array;
  /** [T-1]: log p(tokens[t+1] | tokens[..t]) from raw float32 logits. */
  nextTokenLogprobs: Float32Array;
  /** p(eos | tokens[..t]) at the requested positions, in the order asked; when asked. */
  eosProbs?: Float32Array;
}

/**
 * A KV cache for B rows. Rows are independent: a row's logits do not depend on the other rows.
 * `prefill` once, then `step` any number of times until the cache's length is reached.
 */
export interface GenerationSession {
  /** Runs the prompts (one per row, B of them); returns logits [B*V] at each row's last prompt position. */
  prefill(prompts: readonly (readonly number[])[]): Promise<Float32Array>;
  /** Appends one token per row (B of them); returns logits [B*V] at the new position. */
  step(tokens: readonly number[]): Promise<Float32Array>;
  /**
   * Optional: [B*C] hidden states after the final norm at each row's last processed position
   * (what the latest prefill/step produced logits from). Lets tests and miners compare a
   * generated position with the proof forward's.
   */
  lastHidden?(): Promise<Float32Array>;
  /** Frees the cache. */
  dispose(): void;
}

/** A loaded causal LM. */
export interface Model {
  /** The checkpoint's config. */
  readonly config: ModelConfig;
  /** C. */
  readonly hiddenSize: number;
  /** V. */
  readonly vocabSize: number;
  /** Which implementation runs it. */
  readonly backend: "webgpu" | "cpu";
  /**
   * The proof forward of each sequence (independent of the others: batch-invariant).
   * Full logits are never materialised beyond the rows needed at a time.
   */
  proofForward(
    sequences: readonly (readonly number[])[],
    options?: ProofForwardOptions,
  ): Promise<ProofForwardResult[]>;
  /** A KV-cached session of `batch` rows holding up to `maxLenTokens` positions each. */
  startGeneration(batch: number, maxLenTokens: number): GenerationSession;
  /** Frees the weights; later calls throw. */
  dispose(): void;
}
