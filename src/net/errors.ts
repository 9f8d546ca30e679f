/**
 * Error classes of the network layer: storage, drand and wallets. Each carries a stable `code`
 * that callers switch on; messages are for people.
 *
 * @module
 */

/** Stable codes of {@linkcode StorageError}. */
export type StorageErrorCode =
  | "not_found"
  | "access_denied"
  | "timeout"
  | "network"
  | "throttled"
  | "server"
  | "corrupt"
  | "invalid_key"
  | "invalid_commitment"
  | "io";

/** Stable codes of {@linkcode DrandError}. */
export type DrandErrorCode =
  | "http"
  | "timeout"
  | "malformed"
  | "round_mismatch"
  | "bad_signature"
  | "bad_randomness"
  | "stale"
  | "all_relays_failed";

/** Stable codes of {@linkcode WalletError}. */
export type WalletErrorCode =
  | "not_found"
  | "malformed"
  | "bad_password"
  | "password_required"
  | "unsupported_encryption"
  | "key_mismatch"
  | "no_secret"
  | "exists";

/** Options shared by the error constructors. */
export interface NetErrorOptions {
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A failed object-storage operation (S3/R2 or a local folder).
 *
 * @example Switch on the code
 * ```ts
 * import { StorageError } from "./errors.ts";
 * const error = new StorageError("not_found", "No object grail/x in bucket b", { key: "grail/x" });
 * if (error.code !== "not_found" || error.key !== "grail/x") throw new Error("unexpected");
 * ```
 */
export class StorageError extends Error {
  /** Stable machine-readable reason. */
  readonly code: StorageErrorCode;
  /** The object key involved, when there is one. */
  readonly key: string | undefined;

  /**
   * Creates the error.
   *
   * @param code Stable reason.
   * @param message What went wrong, the value, what was expected, what to do.
   * @param options `cause` and the object `key`.
   */
  constructor(
    code: StorageErrorCode,
    message: string,
    options: NetErrorOptions & { key?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StorageError";
    this.code = code;
    this.key = options.key;
  }
}

/**
 * A drand beacon could not be obtained or did not verify. Callers must fail closed: there is no
 * fallback randomness.
 *
 * @example
 * ```ts
 * import { DrandError } from "./errors.ts";
 * const error = new DrandError("bad_signature", "Beacon round 5 failed BLS verification");
 * if (error.name !== "DrandError" || error.code !== "bad_signature") throw new Error("unexpected");
 * ```
 */
export class DrandError extends Error {
  /** Stable machine-readable reason. */
  readonly code: DrandErrorCode;

  /**
   * Creates the error.
   *
   * @param code Stable reason.
   * @param message What went wrong and what to do.
   * @param options `cause`.
   */
  constructor(code: DrandErrorCode, message: string, options: NetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DrandError";
    this.code = code;
  }
}

/**
 * A wallet folder or keyfile could not be read, decrypted or written. Messages never contain
 * secrets.
 *
 * @example
 * ```ts
 * import { WalletError } from "./errors.ts";
 * const error = new WalletError("bad_password", "Cannot decrypt /w/coldkey: wrong password");
 * if (error.code !== "bad_password") throw new Error("unexpected");
 * ```
 */
export class WalletError extends Error {
  /** Stable machine-readable reason. */
  readonly code: WalletErrorCode;
  /** The file involved, when there is one. */
  readonly path: string | undefined;

  /**
   * Creates the error.
   *
   * @param code Stable reason.
   * @param message What went wrong and what to do (never a secret).
   * @param options `cause` and the file `path`.
   */
  constructor(
    code: WalletErrorCode,
    message: string,
    options: NetErrorOptions & { path?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WalletError";
    this.code = code;
    this.path = options.path;
  }
}
