/**
 * Reward components shared by environments and the weighted sum that combines them
 * (envs spec §1.3). Each takes the tag structure of a completion.
 *
 * @module
 */

import type { TagParse } from "./tag_parser.ts";

/**
 * 0.5 when the completion has a thinking block, else 0.
 *
 * @param parsed The completion's tags.
 * @returns The component value.
 *
 * @example
 * ```ts
 * import { thinkingReward } from "./reward_components.ts";
 * if (thinkingReward({ hasThinking: true }) !== 0.5) throw new Error();
 * ```
 */
export function thinkingReward(parsed: Pick<TagParse, "hasThinking">): number {
  return parsed.hasThinking ? 0.5 : 0;
}

/**
 * 0.3 when the completion has an answer block, else 0.
 *
 * @param parsed The completion's tags.
 * @returns The component value.
 *
 * @example
 * ```ts
 * import { answerFormatReward } from "./reward_components.ts";
 * if (answerFormatReward({ hasAnswer: true }) !== 0.3) throw new Error();
 * ```
 */
export function answerFormatReward(parsed: Pick<TagParse, "hasAnswer">): number {
  return parsed.hasAnswer ? 0.3 : 0;
}

/**
 * 0.2 when the completion has an answer block, else 0.
 *
 * @param parsed The completion's tags.
 * @returns The component value.
 *
 * @example
 * ```ts
 * import { softFormatReward } from "./reward_components.ts";
 * if (softFormatReward({ hasAnswer: false }) !== 0) throw new Error();
 * ```
 */
export function softFormatReward(parsed: Pick<TagParse, "hasAnswer">): number {
  return parsed.hasAnswer ? 0.2 : 0;
}

/**
 * `max(0, 0.2 − 0.001·trailing)` when there is an answer, else 0. With the EOS marker kept in
 * the text (`<|im_end|>`, 10 code points) this is 0.19, as on the live subnet.
 *
 * @param parsed The completion's tags.
 * @returns The component value.
 *
 * @example
 * ```ts
 * import { noTrailingReward } from "./reward_components.ts";
 * if (noTrailingReward({ hasAnswer: true, trailing: 10 }) !== 0.2 - 0.001 * 10) throw new Error();
 * ```
 */
export function noTrailingReward(parsed: Pick<TagParse, "hasAnswer" | "trailing">): number {
  if (!parsed.hasAnswer) return 0;
  return Math.max(0, 0.2 - 0.001 * parsed.trailing);
}

/**
 * The reference's RewardVector total: Σ wᵢ·fᵢ accumulated in order from 0.0 (the order
 * matters for the last bit of the double).
 *
 * @param values Component values fᵢ.
 * @param weights Weights wᵢ, same length.
 * @returns The total reward.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { weightedRewardSum } from "./reward_components.ts";
 * if (weightedRewardSum([1, 0.2], [1, 0.1]) !== 0 + 1 * 1 + 0.1 * 0.2) throw new Error();
 * ```
 */
export function weightedRewardSum(values: readonly number[], weights: readonly number[]): number {
  if (values.length !== weights.length) {
    throw new RangeError(
      `Reward components (${values.length}) and weights (${weights.length}) must have the same length`,
    );
  }
  let total = 0.0;
  for (let i = 0; i < values.length; i++) total += weights[i] * values[i];
  return total;
}
