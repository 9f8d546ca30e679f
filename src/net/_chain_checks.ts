/**
 * Checks shared by the chain implementations, so both refuse the same inputs the same way.
 *
 * @module
 */

import { ChainError } from "./chain_errors.ts";

/** A `Raw` commitment field holds at most this many bytes (`Data::Raw0..Raw128`). */
export const MAX_COMMITMENT_BYTES = 128;

/**
 * Checks a commitment payload against the chain's limit: one `Raw` field of at most 128 bytes.
 */
export function checkCommitmentData(data: string): Uint8Array {
  const bytes = new TextEncoder().encode(data);
  if (bytes.length > MAX_COMMITMENT_BYTES) {
    throw new RangeError(
      `Commitment data is ${bytes.length} UTF-8 bytes; a Raw commitment field holds at most ` +
        `${MAX_COMMITMENT_BYTES}`,
    );
  }
  return bytes;
}

/**
 * Checks destination uids the way `set_weights` on chain does: each below `n`, no duplicates.
 */
export function checkDestinations(
  netuid: number,
  uids: readonly number[],
  n: number,
  endpoint: string,
): void {
  const seen = new Set<number>();
  for (const uid of uids) {
    if (uid >= n) {
      throw new ChainError(
        "invalid_weights",
        `Weight destination uid ${uid} does not exist on subnet ${netuid} (${n} uids)`,
        { endpoint },
      );
    }
    if (seen.has(uid)) {
      throw new ChainError(
        "invalid_weights",
        `Weight destination uid ${uid} appears twice; each uid may get one weight`,
        { endpoint },
      );
    }
    seen.add(uid);
  }
}
