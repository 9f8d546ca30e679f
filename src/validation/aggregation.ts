/**
 * Per-miner aggregation of row verdicts into the window metrics the weights read (protocol spec
 * §5.10): the first hard failure fails the miner; soft failures are counted per check and fail
 * the miner once a count reaches `max(1, ceil(threshold · max(1, planned)))`; then the GRPO group
 * checks; then counts and `estimated_* = int(total · (x / checked))`.
 *
 * @module
 */

import { SOFT_CHECK_THRESHOLDS } from "./constants.ts";
import { checkGrpoGroups, type GroupCheckOptions, type GroupMember } from "./group_checks.ts";

/** Hard pipeline checks, in the reference's order. */
export const HARD_CHECKS: readonly string[] = Object.freeze([
  "schema_valid",
  "tokens_valid",
  "env_prompt_valid",
  "proof_valid",
  "termination_valid",
  "env_eval_valid",
  "logprobs_valid",
]);

/** Soft pipeline checks, in the reference's order. */
export const SOFT_CHECKS: readonly string[] = Object.freeze([
  "reward_valid",
  "token_distribution_valid",
]);

/** What the validator found for one checked row, in check order. */
export interface CheckedRow {
  /** A hard failure before the pipeline (checkpoint window, window/hash/nonce, row signature, rollout group), by name. */
  preCheckFailure?: string;
  /** The row joined its GRPO group before any failure (it passed the pre-pipeline checks). */
  groupId?: string;
  /** The row's group-check fields (advantage, reward, env seed), when it joined its group. */
  groupMember?: GroupMember;
  /** Pipeline results by check name; a hard check missing here counts as failed. */
  checks?: Readonly<Record<string, boolean>>;
  /** The row raised unexpectedly: the reference counts it checked and skips it (no failure). */
  processingError?: boolean;
  /** The miner's `success` flag. */
  success: boolean;
  /** The completion digest (see `completionDigest`). */
  completionDigest: string;
}

/** Window metrics of one miner (keys as the reference's `ValidationMetrics.to_dict`). */
export interface MinerWindowMetrics {
  /** Rows that passed every hard check. */
  valid: number;
  /** Rows visited. */
  checked: number;
  /** Rows in the file. */
  total: number;
  /** int(total · valid / checked). */
  estimated_valid: number;
  /** Valid rows with success. */
  successful: number;
  /** int(total · successful / checked). */
  estimated_successful: number;
  /** Distinct completion digests among valid rows. */
  unique: number;
  /** int(total · unique / checked). */
  estimated_unique: number;
  /** Valid rows whose prompt matched. */
  prompt_valid: number;
  /** Valid-token, valid-proof rows whose prompt did not match. */
  prompt_mismatch: number;
  /** 1 when the miner failed this window. */
  had_failure: 0 | 1;
  /** `hard:<check>`, `soft:<check>`, `grpo:<reason>`, `file:<reason>`, or null. */
  failure_reason: string | null;
}

/** Options of {@linkcode aggregateMinerRows}. */
export interface AggregationOptions {
  /** Soft-check thresholds (default the reference's 0.20 / 0.51). */
  softThresholds?: Readonly<Record<string, number>>;
  /** Group check options. */
  groupCheck?: GroupCheckOptions;
}

/**
 * `max(1, ceil(threshold · max(1, planned)))` per soft check.
 *
 * @param planned Rows planned for checking.
 * @param thresholds Soft thresholds by check.
 * @returns Cutoff counts by check.
 *
 * @example
 * ```ts
 * import { softFailureCutoffs } from "./aggregation.ts";
 * const c = softFailureCutoffs(64);
 * if (c.reward_valid !== 13 || c.token_distribution_valid !== 33) throw new Error();
 * ```
 */
export function softFailureCutoffs(
  planned: number,
  thresholds: Readonly<Record<string, number>> = SOFT_CHECK_THRESHOLDS,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, t] of Object.entries(thresholds)) {
    out[k] = Math.max(1, Math.ceil(t * Math.max(1, planned)));
  }
  return out;
}

function estimate(total: number, x: number, checked: number): number {
  // Python int(total * (x / checked)) in doubles, 0 when nothing was checked.
  return checked > 0 ? Math.trunc(total * (x / checked)) : 0;
}

/**
 * Metrics of a file rejected before any row was checked (corrupt, wrong wallet, …).
 *
 * @param reason The file-level reason.
 * @returns Zero metrics with `had_failure = 1`.
 *
 * @example
 * ```ts
 * import { invalidFileMetrics } from "./aggregation.ts";
 * if (invalidFileMetrics("duplicate_nonce").failure_reason !== "file:duplicate_nonce") throw new Error();
 * ```
 */
export function invalidFileMetrics(reason: string): MinerWindowMetrics {
  return {
    valid: 0,
    checked: 0,
    total: 0,
    estimated_valid: 0,
    successful: 0,
    estimated_successful: 0,
    unique: 0,
    estimated_unique: 0,
    prompt_valid: 0,
    prompt_mismatch: 0,
    had_failure: 1,
    failure_reason: `file:${reason}`,
  };
}

/**
 * Runs the reference's per-miner loop over the checked rows (in order, stopping at the first
 * failure), then the GRPO group checks, and returns the window metrics.
 *
 * @param rows Verdicts of the checked rows, in check order.
 * @param totalRows Rows in the miner's file.
 * @param plannedChecks Rows planned for checking (soft cutoffs scale with it).
 * @param options Thresholds and group-check mode.
 * @returns The metrics.
 *
 * @example One soft reward failure out of 16 planned rows stays under the cutoff (4)
 * ```ts
 * import { aggregateMinerRows, HARD_CHECKS } from "./aggregation.ts";
 * const pass = Object.fromEntries(HARD_CHECKS.map((k) => [k, true]));
 * const rows = Array.from({ length: 16 }, (_, i) => ({
 *   groupId: "0", groupMember: { advantage: 0, totalReward: 0 },
 *   checks: { ...pass, reward_valid: i !== 3 }, success: false, completionDigest: `d${i}`,
 * }));
 * const m = aggregateMinerRows(rows, 16, 16);
 * if (m.had_failure !== 0 || m.valid !== 16 || m.estimated_unique !== 16) throw new Error();
 * ```
 */
export function aggregateMinerRows(
  rows: readonly CheckedRow[],
  totalRows: number,
  plannedChecks: number,
  options: AggregationOptions = {},
): MinerWindowMetrics {
  const thresholds = options.softThresholds ?? SOFT_CHECK_THRESHOLDS;
  const cutoffs = softFailureCutoffs(plannedChecks, thresholds);
  const softCounts = new Map<string, number>();
  const groups = new Map<string, GroupMember[]>();
  const unique = new Set<string>();
  let checked = 0;
  let valid = 0;
  let successful = 0;
  let promptValid = 0;
  let promptMismatch = 0;
  let failureReason: string | null = null;
  let failed = false;

  for (const row of rows) {
    checked++;
    if (row.preCheckFailure !== undefined) {
      // The reference sets no failure_reason for pre-pipeline failures; ours names them.
      failed = true;
      failureReason = `hard:${row.preCheckFailure}`;
      break;
    }
    if (row.groupId !== undefined && row.groupMember !== undefined) {
      const g = groups.get(row.groupId);
      if (g) g.push(row.groupMember);
      else groups.set(row.groupId, [row.groupMember]);
    }
    if (row.processingError) continue;
    const checks = row.checks ?? {};
    const hardFail = HARD_CHECKS.find((k) => checks[k] !== true);
    if (hardFail !== undefined) {
      failed = true;
      failureReason = `hard:${hardFail}`;
      break;
    }
    let gated = false;
    for (const k of SOFT_CHECKS) {
      if (checks[k] === false) {
        const n = (softCounts.get(k) ?? 0) + 1;
        softCounts.set(k, n);
        const cutoff = cutoffs[k];
        if (cutoff !== undefined && n >= cutoff) {
          gated = true;
          failureReason = `soft:${k}`;
          break;
        }
      }
    }
    if (gated) {
      failed = true;
      break;
    }
    if (checks.tokens_valid && checks.proof_valid) {
      if (checks.env_prompt_valid) promptValid++;
      else promptMismatch++;
    }
    valid++;
    if (row.success) successful++;
    unique.add(row.completionDigest);
  }

  if (!failed) {
    const g = checkGrpoGroups(groups, options.groupCheck);
    if (!g.ok) {
      failed = true;
      failureReason = `grpo:${g.reason}`;
    }
  }
  if (failed) {
    return {
      valid: 0,
      checked,
      total: totalRows,
      estimated_valid: 0,
      successful: 0,
      estimated_successful: 0,
      unique: 0,
      estimated_unique: 0,
      prompt_valid: 0,
      prompt_mismatch: promptMismatch,
      had_failure: 1,
      failure_reason: failureReason,
    };
  }
  return {
    valid,
    checked,
    total: totalRows,
    estimated_valid: estimate(totalRows, valid, checked),
    successful,
    estimated_successful: estimate(totalRows, successful, checked),
    unique: unique.size,
    estimated_unique: estimate(totalRows, unique.size, checked),
    prompt_valid: promptValid,
    prompt_mismatch: promptMismatch,
    had_failure: 0,
    failure_reason: null,
  };
}

/**
 * Copycat gating of one miner's window metrics: zero valid, successful and unique counts and
 * their estimates, set `had_failure`. A miner without metrics gets zero metrics.
 *
 * @param metrics The miner's metrics, or undefined.
 * @returns New gated metrics.
 *
 * @example
 * ```ts
 * import { gateCopycatMetrics } from "./aggregation.ts";
 * const m = gateCopycatMetrics(undefined);
 * if (m.had_failure !== 1 || m.estimated_unique !== 0) throw new Error();
 * ```
 */
export function gateCopycatMetrics(metrics: MinerWindowMetrics | undefined): MinerWindowMetrics {
  const base = metrics ?? {
    ...invalidFileMetrics("copycat"),
    failure_reason: null,
  };
  return {
    ...base,
    valid: 0,
    estimated_valid: 0,
    estimated_successful: 0,
    estimated_unique: 0,
    successful: 0,
    unique: 0,
    had_failure: 1,
    failure_reason: base.failure_reason ?? "copycat",
  };
}
