/**
 * From miners' rollouts to GRPO training groups, as the reference trainer loads them (infra spec
 * §9 steps 2–3): group rows by `rollout_group` (as a string, across miners), drop groups with a
 * missing, non-finite or wrongly sized `token_logprobs`, recompute advantages from rewards,
 * keep groups of the expected size with |Σ A| < 0.01 and non-zero variance and no completion over
 * the length cap, then keep the best `maxGroups` by 0.7·reward-per-token + 0.3·advantage variance.
 *
 * @module
 */

import type { Rollout } from "../protocol/rollout.ts";
import { computeAdvantages } from "../validation/advantages.ts";

/** One rollout ready for the loss. */
export interface TrainRollout {
  /** Prompt and completion tokens. */
  tokens: number[];
  /** P. */
  promptLength: number;
  /** n. */
  completionLength: number;
  /** Behaviour log-probs of the n completion tokens. */
  behaviourLogprobs: number[];
  /** Recomputed group advantage. */
  advantage: number;
  /** Total reward. */
  reward: number;
  /** Miner nonce (orders rows inside a group, as the reference sorts them). */
  nonce: number;
}

/** A training group: one prompt's rollouts. */
export interface TrainGroup {
  /** `rollout_group` as a string. */
  groupId: string;
  /** Its rollouts, sorted by nonce. */
  rollouts: TrainRollout[];
}

/** Filter settings; defaults are the reference's. */
export interface GroupOptions {
  /** Rollouts per group (default 16, `ROLLOUTS_PER_PROBLEM`). */
  groupSize?: number;
  /** Largest completion kept (default 8192 tokens). */
  maxCompletionTokens?: number;
  /** Groups kept (default 32). */
  maxGroups?: number;
  /** Largest prompt + completion kept (default unlimited; the WebGPU step's T). */
  maxTotalTokens?: number;
  /** |Σ advantages| bound (default 0.01). */
  advantageSumTolerance?: number;
  /**
   * What makes a group: `"group"` (default, the reference) keys rows by `rollout_group` alone,
   * so two miners' group 0s merge into one of 32 rows and are dropped for their size (infra spec
   * §12); `"hotkey"` keys by hotkey and `rollout_group`, keeping each miner's problem a group.
   */
  keyBy?: "group" | "hotkey";
}

/** Groups kept and why the others were dropped. */
export interface GroupSelection {
  /** Selected groups, best first. */
  groups: TrainGroup[];
  /** Dropped group counts by reason. */
  dropped: Record<
    "logprobs" | "size" | "advantage_sum" | "zero_variance" | "length" | "rank",
    number
  >;
}

/** The completion part of `token_logprobs` (full-length or legacy completion-only), or null. */
function completionLogprobs(r: Rollout): number[] | null {
  const meta = r.commit.rollout;
  const tlp = meta.token_logprobs;
  if (!Array.isArray(tlp) || tlp.length === 0) return null;
  if (!tlp.every((x) => typeof x === "number" && Number.isFinite(x))) return null;
  const P = meta.prompt_length, n = meta.completion_length;
  if (tlp.length >= P + n) return tlp.slice(P, P + n);
  if (tlp.length === n) return tlp.slice();
  return null;
}

/**
 * Builds the training groups of one window from the trusted miners' rollouts.
 *
 * @param rollouts Rows of every trusted miner's window file.
 * @param options Filter settings.
 * @returns The selected groups and drop counts.
 *
 * @example Two rollouts of one group with different rewards
 * ```ts
 * import { selectGroups } from "./groups.ts";
 * import type { Rollout } from "../protocol/rollout.ts";
 * const row = (nonce: number, reward: number) => ({
 *   rollout_group: 7, nonce,
 *   commit: { tokens: [1, 2, 3], rollout: { total_reward: reward, advantage: 0, success: false,
 *     token_logprobs: [0, -1, -2], prompt_length: 1, completion_length: 2 } },
 * }) as unknown as Rollout;
 * const s = selectGroups([row(0, 1), row(1, 0)], { groupSize: 2 });
 * if (s.groups.length !== 1 || s.groups[0].rollouts[0].advantage !== 1) throw new Error();
 * ```
 */
export function selectGroups(
  rollouts: readonly Rollout[],
  options: GroupOptions = {},
): GroupSelection {
  const groupSize = options.groupSize ?? 16;
  const maxLen = options.maxCompletionTokens ?? 8192;
  const maxGroups = options.maxGroups ?? 32;
  const tol = options.advantageSumTolerance ?? 0.01;
  const dropped = { logprobs: 0, size: 0, advantage_sum: 0, zero_variance: 0, length: 0, rank: 0 };
  const byGroup = new Map<string, { rows: Rollout[]; bad: boolean }>();
  for (const r of rollouts) {
    const id = options.keyBy === "hotkey"
      ? `${r.hotkey}:${r.rollout_group}`
      : String(r.rollout_group);
    let g = byGroup.get(id);
    if (g === undefined) byGroup.set(id, g = { rows: [], bad: false });
    g.rows.push(r);
    if (completionLogprobs(r) === null) g.bad = true;
  }
  const scored: { group: TrainGroup; score: number }[] = [];
  for (const [groupId, g] of byGroup) {
    if (g.bad) {
      dropped.logprobs++;
      continue;
    }
    if (g.rows.length !== groupSize) {
      dropped.size++;
      continue;
    }
    const rows = [...g.rows].sort((a, b) => a.nonce - b.nonce);
    const rewards = rows.map((r) => r.commit.rollout.total_reward);
    const adv = computeAdvantages(rewards);
    if (Math.abs(adv.reduce((a, b) => a + b, 0)) >= tol) {
      dropped.advantage_sum++;
      continue;
    }
    if (adv.every((a) => a === adv[0])) {
      dropped.zero_variance++;
      continue;
    }
    const maxTotal = options.maxTotalTokens ?? Infinity;
    if (
      rows.some((r) =>
        r.commit.rollout.completion_length > maxLen ||
        r.commit.rollout.prompt_length + r.commit.rollout.completion_length > maxTotal
      )
    ) {
      dropped.length++;
      continue;
    }
    const trainRollouts: TrainRollout[] = rows.map((r, i) => ({
      tokens: r.commit.tokens.slice(
        0,
        r.commit.rollout.prompt_length + r.commit.rollout.completion_length,
      ),
      promptLength: r.commit.rollout.prompt_length,
      completionLength: r.commit.rollout.completion_length,
      behaviourLogprobs: completionLogprobs(r) as number[],
      advantage: adv[i],
      reward: rewards[i],
      nonce: r.nonce,
    }));
    const rewardPerToken = trainRollouts.reduce(
      (a, r) => a + r.reward / Math.max(1, r.completionLength),
      0,
    ) / trainRollouts.length;
    const meanAdv = adv.reduce((a, b) => a + b, 0) / adv.length;
    const advVar = adv.reduce((a, b) => a + (b - meanAdv) ** 2, 0) / adv.length;
    scored.push({
      group: { groupId, rollouts: trainRollouts },
      score: 0.7 * rewardPerToken + 0.3 * advVar,
    });
  }
  // Best first; ties by group id so the selection does not depend on arrival order.
  scored.sort((a, b) =>
    b.score - a.score ||
    (a.group.groupId < b.group.groupId ? -1 : a.group.groupId > b.group.groupId ? 1 : 0)
  );
  dropped.rank = Math.max(0, scored.length - maxGroups);
  return { groups: scored.slice(0, maxGroups).map((s) => s.group), dropped };
}
