/**
 * GRAIL v5 protocol constants (protocol spec §0, `grail/protocol/constants.py`).
 *
 * @example
 * ```ts
 * import { PRIME_Q, PROOF_TOPK } from "./constants.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(PRIME_Q, 2 ** 31 - 1);
 * strictEqual(PROOF_TOPK, 16);
 * ```
 *
 * @module
 */

/** Proof version miners emit. Validators accept {@linkcode ACCEPTED_PROOF_VERSIONS}. */
export const GRAIL_PROOF_VERSION = "v5" as const;
/** Proof versions validators accept (same semantics). */
export const ACCEPTED_PROOF_VERSIONS: readonly string[] = ["v4", "v5"];
/** Sketch modulus, 2^31 − 1. */
export const PRIME_Q = 2147483647 as const;
/** Challenged positions per rollout; also the minimum completion length. */
export const CHALLENGE_K = 32 as const;
/** Activations per position entering the sketch. */
export const PROOF_TOPK = 16 as const;
/** Magnitude buckets per sign: buckets lie in `[−(N−1), N−1]`. */
export const PROOF_NUM_BUCKETS = 8 as const;
/** Sketch coefficients lie in `[−127, 127]`. */
export const PROOF_COEFF_RANGE = 127 as const;
/** Sketch tolerance at position 0. */
export const PROOF_SKETCH_TOLERANCE_BASE = 6000 as const;
/** Sketch tolerance growth per sqrt(position). */
export const PROOF_SKETCH_TOLERANCE_GROWTH = 5.0 as const;
/** "Last hidden state" layer index. */
export const LAYER_INDEX: number = -1;
/** Forward-pass sub-batch size for miners and validators. */
export const PROOF_BATCH_SIZE = 16 as const;
/** Blocks per window. */
export const WINDOW_LENGTH = 30 as const;
/** GRPO group size. */
export const ROLLOUTS_PER_PROBLEM = 16 as const;
/** PRF label for sketch coefficients. */
export const RNG_LABEL_SKETCH = "sketch" as const;
/** PRF label for challenge index material. */
export const RNG_LABEL_OPEN = "open" as const;
/** Domain prefix of the commit binding. */
export const COMMIT_BINDING_DOMAIN = "grail-commit-v1" as const;
/** Hard upper bound on completion length. */
export const MAX_NEW_TOKENS_PROTOCOL_CAP = 8192 as const;
