/**
 * The error of published checkpoints (infra spec §4.6): {@link PublishedCheckpointError}.
 *
 * Distinct from the model area's `CheckpointError` (src/model/errors.ts), raised for a local
 * folder that cannot be loaded; this one is for what the trainer publishes and consumers fetch:
 * markers, metadata, manifests, deltas and hashes.
 *
 * @module
 */

/** Stable codes of {@link PublishedCheckpointError}. */
export type PublishedCheckpointErrorCode =
  | "not_found"
  | "bad_metadata"
  | "bad_manifest"
  | "hash_mismatch"
  | "weights_hash_mismatch"
  | "bad_delta"
  | "unsupported_format"
  | "chain_broken"
  | "bad_input";

/**
 * A published checkpoint that cannot be trusted or used: the message names the window, the file
 * or key, the value found and what was expected. Consumers must not load a checkpoint after any
 * of these.
 *
 * @example Catching by code
 * ```ts
 * import { PublishedCheckpointError } from "./published_checkpoint_error.ts";
 * const e = new PublishedCheckpointError("hash_mismatch", "SHA-256 of config.json differs");
 * if (e.code !== "hash_mismatch" || e.name !== "PublishedCheckpointError") throw new Error("unexpected");
 * ```
 */
export class PublishedCheckpointError extends Error {
  /** Stable machine-readable reason. */
  readonly code: PublishedCheckpointErrorCode;
  /**
   * Creates the error.
   *
   * @param code Stable reason.
   * @param message What was wrong, the value, what was expected, what to do.
   * @param options `cause` of a wrapped error.
   */
  constructor(code: PublishedCheckpointErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PublishedCheckpointError";
    this.code = code;
  }
}
