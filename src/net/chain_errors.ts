/**
 * The error class of the chain client: every failure of a chain read or extrinsic, on the
 * Substrate client and on the in-process local chain alike, surfaces as a {@linkcode ChainError}
 * with a stable {@linkcode ChainErrorCode}.
 *
 * @module
 */

/**
 * Stable codes of {@linkcode ChainError}:
 * - `connect_failed`: no connection could be opened (refused, bad URL, handshake timeout);
 * - `connection_lost`: the connection dropped while a call was in flight, or is down;
 * - `timeout`: the endpoint took longer than the call's timeout to answer;
 * - `rpc_failed`: the endpoint answered with an error;
 * - `block_not_found`: the block number is beyond the head (or pruned);
 * - `subnet_not_found`: no subnet with that netuid;
 * - `not_registered`: the hotkey has no uid on the subnet;
 * - `already_registered`: the hotkey already has a uid on the subnet;
 * - `subnet_full`: the local chain has no free uid;
 * - `rate_limited`: weights were set too recently (`WeightsSetRateLimit`);
 * - `version_key_too_low`: the subnet's `WeightsVersionKey` exceeds ours;
 * - `commit_reveal_required`: the subnet needs timelocked commit-reveal weights, which this
 *   client refuses to fake;
 * - `invalid_weights`: the chain would reject the weight vector (unknown or duplicate uids);
 * - `extrinsic_failed`: the extrinsic was included but dispatched with an error;
 * - `unsupported_runtime`: the runtime lacks a call or runtime API this client needs;
 * - `circuit_open`: recent calls all failed, so this one was refused without trying
 *   (`ResilientChain`).
 */
export type ChainErrorCode =
  | "connect_failed"
  | "connection_lost"
  | "timeout"
  | "rpc_failed"
  | "block_not_found"
  | "subnet_not_found"
  | "not_registered"
  | "already_registered"
  | "subnet_full"
  | "rate_limited"
  | "version_key_too_low"
  | "commit_reveal_required"
  | "invalid_weights"
  | "extrinsic_failed"
  | "unsupported_runtime"
  | "circuit_open";

/**
 * A chain read or extrinsic failed. `code` is for programs, the message for people; `endpoint`
 * names the chain (a `ws://…` URL or `local`).
 *
 * @example Switch on the code
 * ```ts
 * import { ChainError } from "./chain_errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const error = new ChainError("timeout", "chain_getHeader timed out after 15000 ms", {
 *   endpoint: "ws://127.0.0.1:9944",
 * });
 * strictEqual(error.code, "timeout");
 * strictEqual(error.name, "ChainError");
 * strictEqual(error.endpoint, "ws://127.0.0.1:9944");
 * ```
 */
export class ChainError extends Error {
  /** Stable machine-readable reason. */
  readonly code: ChainErrorCode;
  /** The chain involved, when known. */
  readonly endpoint: string | undefined;

  /**
   * Creates the error.
   *
   * @param code Stable reason.
   * @param message What went wrong, the value, what was expected, what to do.
   * @param options `cause` and the `endpoint`.
   */
  constructor(
    code: ChainErrorCode,
    message: string,
    options: { cause?: unknown; endpoint?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ChainError";
    this.code = code;
    this.endpoint = options.endpoint;
  }
}
