/**
 * The error of window files (miner Parquet uploads): {@link WindowFileError}.
 *
 * @module
 */

/** Stable codes of {@link WindowFileError}. */
export type WindowFileErrorCode =
  | "too_small"
  | "corrupt"
  | "bad_schema"
  | "bad_metadata"
  | "null_value"
  | "bad_value"
  | "bad_json"
  | "not_found"
  | "bad_input";

/**
 * A window file that cannot be written or read: the message names the file, the row and the
 * field (e.g. `commit.rollout.token_logprobs`), the value found and what was expected. The
 * reference bans a miner for a file that fails to read (`ParquetError`), so callers treat every
 * code except `not_found` and `bad_input` as the miner's fault.
 *
 * @example Catching by code
 * ```ts
 * import { WindowFileError } from "./window_file_error.ts";
 * const e = new WindowFileError("too_small", "Cannot read w.parquet: 3 bytes", { file: "w.parquet" });
 * if (e.code !== "too_small" || e.file !== "w.parquet") throw new Error("unexpected");
 * ```
 */
export class WindowFileError extends Error {
  /** Stable machine-readable reason. */
  readonly code: WindowFileErrorCode;
  /** The file or object key, when known. */
  readonly file?: string;
  /** The field path (`rollout_group`, `commit.commitments`), when one field is at fault. */
  readonly field?: string;
  /** The row (0-based), when one row is at fault. */
  readonly row?: number;
  /**
   * Creates the error.
   *
   * @param code Stable reason.
   * @param message What was wrong, the value, what was expected, what to do.
   * @param details File, field and row at fault, and the `cause` of a wrapped error.
   */
  constructor(
    code: WindowFileErrorCode,
    message: string,
    details: { file?: string; field?: string; row?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "WindowFileError";
    this.code = code;
    this.file = details.file;
    this.field = details.field;
    this.row = details.row;
  }
}
