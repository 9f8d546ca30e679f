/**
 * The error of published checkpoints (infra spec §4.6): {@link CheckpointError}.
 *
 * The model area has its own `CheckpointError` (src/model/errors.ts) for a local folder that
 * cannot be loaded; this one is for what the trainer publishes and consumers fetch: markers,
 * metadata, manifests, deltas and hashes.
 *
 * @module
 */

/** Stable codes of {@link CheckpointError}. */
export type CheckpointErrorCode =
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
 * import { CheckpointError } from "./checkpoint_error.ts";
 * const e = new CheckpointError("hash_mismatch", "SHA-256 of config.json differs");
 * if (e.code !== "hash_mismatch" || e.name !== "CheckpointError") throw new Error("unexpected");
 * ```
 */
export class CheckpointError extends Error {
  /** Stable machine-readable reason. */
  readonly code: CheckpointErrorCode;
  /**
   * Creates the error.
   *
   * @param code Stable reason.
   * @param message What was wrong, the value, what was expected, what to do.
   * @param options `cause` of a wrapped error.
   */
  constructor(code: CheckpointErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpointError";
    this.code = code;
  }
}
