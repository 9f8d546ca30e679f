/**
 * GRPO group checks run after a miner's rows passed (protocol spec §5.10): each checked group
 * has exactly 16 rows, advantages sum to ~0 and match a recomputation from the claimed
 * rewards, and all rows share one env seed.
 *
 * @module
 */

import { pythonSum } from "./_python_math.ts";
import { computeAdvantages, type PythonSumMode } from "./advantages.ts";
import {
  GRPO_ADV_MATCH_TOLERANCE,
  GRPO_ADV_SUM_TOLERANCE,
  ROLLOUTS_PER_PROBLEM,
} from "./constants.ts";

/** What the group check reads from one row. */
export interface GroupMember {
  /** `commit.rollout.advantage`. */
  advantage: number;
  /** `commit.rollout.total_reward`. */
  totalReward: number;
  /** `commit.env.seed` when present (never set by reference miners); undefined otherwise. */
  envSeed?: number | null;
}

/** Options of {@linkcode checkGrpoGroups}. */
export interface GroupCheckOptions {
  /**
   * `"compat"` (default) reproduces the reference, where NaN advantages or rewards slip through
   * (every comparison with NaN is false). `"strict"` also fails non-finite values.
   */
  mode?: "compat" | "strict";
  /** CPython `sum()` semantics (default `"cpython312"`). */
  sum?: PythonSumMode;
}

/** Outcome of {@linkcode checkGrpoGroups}. */
export interface GroupCheckResult {
  /** All groups passed. */
  ok: boolean;
  /** The first failing group id. */
  group?: string;
  /** Why it failed. */
  reason?: "group_size" | "advantage_sum" | "advantage_mismatch" | "env_seed" | "non_finite";
}

/**
 * Checks every group in iteration order and stops at the first failure.
 *
 * @param groups Group id (the `rollout_group` as a string) → its checked rows.
 * @param options Compat/strict mode and summation semantics.
 * @returns Verdict, with the failing group and reason.
 *
 * @example
 * ```ts
 * import { checkGrpoGroups } from "./group_checks.ts";
 * import { computeAdvantages } from "./advantages.ts";
 * const rewards = Array.from({ length: 16 }, (_, i) => i / 16);
 * const adv = computeAdvantages(rewards);
 * const rows = rewards.map((r, i) => ({ totalReward: r, advantage: adv[i] }));
 * if (!checkGrpoGroups(new Map([["0", rows]])).ok) throw new Error();
 * ```
 */
export function checkGrpoGroups(
  groups: ReadonlyMap<string, readonly GroupMember[]>,
  options: GroupCheckOptions = {},
): GroupCheckResult {
  const strict = (options.mode ?? "compat") === "strict";
  for (const [group, rows] of groups) {
    if (rows.length !== ROLLOUTS_PER_PROBLEM) return { ok: false, group, reason: "group_size" };
    const advantages = rows.map((r) => r.advantage);
    const rewards = rows.map((r) => r.totalReward);
    if (strict && [...advantages, ...rewards].some((x) => !Number.isFinite(x))) {
      return { ok: false, group, reason: "non_finite" };
    }
    const sum = pythonSum(advantages, options.sum);
    if (Math.abs(sum) > GRPO_ADV_SUM_TOLERANCE) {
      return { ok: false, group, reason: "advantage_sum" };
    }
    const recomputed = computeAdvantages(rewards, { sum: options.sum });
    for (let i = 0; i < advantages.length; i++) {
      if (Math.abs(advantages[i] - recomputed[i]) > GRPO_ADV_MATCH_TOLERANCE) {
        return { ok: false, group, reason: "advantage_mismatch" };
      }
    }
    // The reference compares `commit.env.seed` (None when absent) across the group.
    const seeds = new Set(rows.map((r) => r.envSeed ?? null));
    if (seeds.size !== 1) return { ok: false, group, reason: "env_seed" };
  }
  return { ok: true };
}
