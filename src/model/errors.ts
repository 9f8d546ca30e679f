/**
 * Error classes of the model area: {@link CheckpointError} for a checkpoint folder that cannot be
 * read as asked (config, safetensors, shapes), {@link ModelError} for a model used wrongly at run
 * time (bad token id, cache overflow, disposed model). A published checkpoint that fails its
 * checks (markers, manifest, hashes, deltas) raises the network area's `PublishedCheckpointError`
 * instead (src/net/checkpoint/published_checkpoint_error.ts).
 *
 * @module
 */

/** Stable codes of {@link CheckpointError}. */
export type CheckpointErrorCode =
  | "not_found"
  | "bad_config"
  | "unsupported"
  | "bad_header"
  | "truncated"
  | "unknown_dtype"
  | "missing_tensor"
  | "bad_shape"
  | "io";

/**
 * A checkpoint folder or safetensors file that cannot be used: the message names the file, the
 * field or tensor, the value found and what was expected.
 *
 * @example Catching by code
 * ```ts
 * import { CheckpointError } from "./errors.ts";
 * const e = new CheckpointError("missing_tensor", "Cannot load model.norm.weight");
 * if (e.code !== "missing_tensor" || e.name !== "CheckpointError") throw new Error("unexpected");
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

/** Stable codes of {@link ModelError}. */
export type ModelErrorCode =
  | "bad_token"
  | "bad_input"
  | "cache_full"
  | "disposed"
  | "state";

/**
 * A model used wrongly at run time (token out of range, KV cache full, call after dispose).
 *
 * @example Catching by code
 * ```ts
 * import { ModelError } from "./errors.ts";
 * const e = new ModelError("cache_full", "Cannot append token: cache holds 8 of 8 positions");
 * if (e.code !== "cache_full") throw new Error("unexpected");
 * ```
 */
export class ModelError extends Error {
  /** Stable machine-readable reason. */
  readonly code: ModelErrorCode;
  /**
   * Creates the error.
   *
   * @param code Stable reason.
   * @param message What was wrong, the value, what was expected, what to do.
   * @param options `cause` of a wrapped error.
   */
  constructor(code: ModelErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ModelError";
    this.code = code;
  }
}
