/**
 * The backend-neutral model interface that the CPU reference (`cpu_model.ts`) and the WebGPU
 * backend (`src/gpu/webgpu_model.ts`) implement, and that proofs and generation drive.
 *
 * Dimension legend: B batch rows, T positions, C hidden size, V vocabulary.
 *
 * @module
 */

import type { ModelConfig } from "./config.ts";
import type { CandidateRequest, RowCandidates } from "./sampling.ts";

/** Options of {@link Model.proofForward}. */
export interface ProofForwardOptions {
  /** Token whose probability `eosProbs` reports; defaults to the config's first EOS id. */
  eosTokenId?: number;
  /**
   * Per sequence, the positions t at which to report p(eos | tokens[..t]), i.e. softmax of the
   * logits row t (row len−2 predicts the last token: the reference's termination check).
   */
  eosPositions?: readonly (readonly number[])[];
  /**
   * GRAIL sketch coefficients (the protocol's `sketchCoefficients`): when given, the result
   * carries `sketches`, the protocol sketch of every position's hidden state, computed where the
   * backend keeps the hidden states (on the device for GPU backends).
   */
  sketchCoefficients?: Int8Array;
}

/** Outputs of {@link Model.proofForward} for one sequence. */
export interface ProofForwardResult {
  /** [T*C]: last hidden state after the final norm (the lm_head input), position-major. */
  hidden: Float32Array;
  /** [T-1]: log p(tokens[t+1] | tokens[..t]) from raw float32 logits. */
  nextTokenLogprobs: Float32Array;
  /** p(eos | tokens[..t]) at the requested positions, in the order asked; when asked. */
  eosProbs?: Float32Array;
  /**
   * [T]: the protocol sketch (`sketches(hidden, C, coeffs)`) of each position, bit-exact; present
   * when `sketchCoefficients` was given.
   */
  sketches?: Uint32Array;
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
  /**
   * Optional: decoding that keeps the logits on the device and reads back only what the sampler
   * needs (see {@link DeviceSelect}); absent where the backend returns full rows only.
   */
  readonly select?: DeviceSelect;
  /** Frees the cache. */
  dispose(): void;
}

/** What one {@link DeviceSelect} call reads back. */
export interface SelectResult {
  /** Per row, the candidates of the new logits (`sampleFromCandidates` decides from them). */
  candidates: RowCandidates[];
  /**
   * Per row, log p(token fed by this call | ..) under the logits before it, computed as the proof
   * forward computes next-token log-probs (same kernel, same bits); null after a prefill.
   */
  logprobs: Float32Array | null;
}

/**
 * Prefill and step with the logits kept on the device (one submit and one small readback per
 * step). Same KV cache and positions as the session's `prefill`/`step`; use one or the other.
 */
export interface DeviceSelect {
  /** As `prefill`, returning each row's candidates instead of its logits. */
  prefill(
    prompts: readonly (readonly number[])[],
    request: CandidateRequest,
  ): Promise<SelectResult>;
  /** As `step`, returning the new logits' candidates and the fed tokens' log-probs. */
  step(tokens: readonly number[], request: CandidateRequest): Promise<SelectResult>;
  /** The latest logits [B*V] (for rows the candidates cannot decide). */
  logits(): Promise<Float32Array>;
  /** log p(tokens[b] | ..) under the latest logits (the last tokens' log-probs, never fed). */
  logprobs(tokens: readonly number[]): Promise<Float32Array>;
  /**
   * Optional: `steps` greedy steps with no host round trip between them: feeds `tokens`, then
   * each step's argmax among `request.topM` candidates (ids ≥ `request.vocabLimit` never
   * chosen; no repetition penalty, so `gatherSeen` must be false); one readback.
   */
  greedy?(
    tokens: readonly number[],
    steps: number,
    request: CandidateRequest,
  ): Promise<GreedySteps>;
}

/** What {@link DeviceSelect.greedy} reads back, step-major ([steps × B]). */
export interface GreedySteps {
  /** Argmax of each step's new logits (what the next step fed). */
  tokens: Int32Array;
  /** 1 where that row's logits held a NaN (the argmax may then differ from the host's). */
  nan: Uint8Array;
  /** log p(token fed at the step) under the logits before it (proof-forward bits). */
  logprobs: Float32Array;
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
  readonly backend: "webgpu" | "cpu" | "cuda";
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
