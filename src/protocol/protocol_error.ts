/**
 * The error class of the protocol area.
 *
 * @module
 */

/**
 * A protocol computation or check could not be carried out on the given input (for example an
 * empty randomness string where the protocol needs bytes). `code` is stable and meant for
 * programs; the message is meant for people.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./protocol_error.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const error = new ProtocolError("empty_randomness", "Cannot derive indices: randomness is empty");
 * strictEqual(error.code, "empty_randomness");
 * strictEqual(error.name, "ProtocolError");
 * ```
 */
export class ProtocolError extends Error {
  /** Stable machine-readable reason, e.g. `"empty_randomness"`. */
  readonly code: string;

  /**
   * Creates a protocol error.
   *
   * @param code Stable machine-readable reason.
   * @param message Human-readable description: what was wrong, the value, what was expected.
   * @param options Standard error options (`cause`).
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}
