/**
 * Cheap file-level checks over every row of a miner's window file, before any sampling
 * (protocol spec §5.3). A failure makes the file invalid: the miner gets `had_failure = 1`.
 *
 * @module
 */

import { ROLLOUTS_PER_PROBLEM } from "./constants.ts";

/** The fields the structure check reads from one row. */
export interface StructureRow {
  /** `rollout_group` (null/undefined is invalid). */
  rollout_group: number | bigint | string | null | undefined;
  /** `window_start`. */
  window_start: number | bigint | null | undefined;
  /** `block_hash`. */
  block_hash: string | null | undefined;
  /** `nonce`. */
  nonce: number | bigint | string | null | undefined;
}

/** A window file's metadata and rows. */
export interface StructureInput {
  /** File metadata `wallet` (the miner hotkey that wrote it). */
  wallet: string | null | undefined;
  /** File metadata `window_start`. */
  windowStart: number | bigint | null | undefined;
  /** Rows in file order. */
  rows: readonly StructureRow[];
}

/** What the validator expects. */
export interface StructureExpectation {
  /** The miner whose file this is. */
  hotkey: string;
  /** The target window start. */
  window: number;
  /** The chain's block hash of the window start (`0x` + 64 lowercase hex). */
  windowHash: string;
}

/** Reasons a file is rejected, as the reference names them (`file:<reason>`). */
export type StructureFailure =
  | "wallet_mismatch"
  | "window_mismatch"
  | "null_rollout_group"
  | "window_start_mismatch"
  | "block_hash_mismatch"
  | "duplicate_nonce"
  | "invalid_group_size";

/** Outcome of {@linkcode checkWindowFileStructure}. */
export interface StructureResult {
  /** The file passed. */
  ok: boolean;
  /** Why not. */
  reason?: StructureFailure;
  /** The offending row index, for row-level failures. */
  row?: number;
}

function sameInt(a: number | bigint | null | undefined, b: number): boolean {
  if (typeof a === "bigint") return a === BigInt(b);
  return a === b;
}

/**
 * The reference's `_validate_file_structure`: wallet and window of the file, then per row a
 * non-null group, the window, the block hash and a file-unique nonce, then exactly 16 rows per
 * group (groups compared by their decimal string, as Python's `str(rollout_group)`).
 *
 * @param file Metadata and rows.
 * @param expected The miner, window and window hash.
 * @returns Verdict with the reason and row.
 *
 * @example
 * ```ts
 * import { checkWindowFileStructure } from "./file_structure_check.ts";
 * const r = checkWindowFileStructure(
 *   { wallet: "5X", windowStart: 30, rows: [] },
 *   { hotkey: "5Y", window: 30, windowHash: "0x00" },
 * );
 * if (r.ok || r.reason !== "wallet_mismatch") throw new Error();
 * ```
 */
export function checkWindowFileStructure(
  file: StructureInput,
  expected: StructureExpectation,
): StructureResult {
  if (file.wallet !== expected.hotkey) return { ok: false, reason: "wallet_mismatch" };
  if (!sameInt(file.windowStart, expected.window)) return { ok: false, reason: "window_mismatch" };
  const nonces = new Set<string>();
  const sizes = new Map<string, number>();
  for (let i = 0; i < file.rows.length; i++) {
    const row = file.rows[i];
    if (row.rollout_group === null || row.rollout_group === undefined) {
      return { ok: false, reason: "null_rollout_group", row: i };
    }
    if (!sameInt(row.window_start, expected.window)) {
      return { ok: false, reason: "window_start_mismatch", row: i };
    }
    if (row.block_hash !== expected.windowHash) {
      return { ok: false, reason: "block_hash_mismatch", row: i };
    }
    // Python compares nonces by value: 5 and 5.0 are the same key; None is a key too.
    const key = row.nonce === null || row.nonce === undefined ? "None" : String(row.nonce);
    if (nonces.has(key)) return { ok: false, reason: "duplicate_nonce", row: i };
    nonces.add(key);
    const gid = String(row.rollout_group);
    sizes.set(gid, (sizes.get(gid) ?? 0) + 1);
  }
  for (const size of sizes.values()) {
    if (size !== ROLLOUTS_PER_PROBLEM) return { ok: false, reason: "invalid_group_size" };
  }
  return { ok: true };
}
