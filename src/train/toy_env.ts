/**
 * "Echo the digit": a toy environment a tiny random model can learn within a few windows, for
 * showing that the trainer improves the policy (docs/train_learning.md).
 *
 * Problem p shows the digit d = p mod 10 twice (prompt = two copies of d's token). The model
 * writes a fixed number of tokens; each completion token earns ½ if it is any digit and another
 * ½ if it is d itself, averaged over the completion, so the reward lies in [0, 1]. A random
 * model over a few hundred tokens starts near 0.02 (10 digit tokens of ~260): dense enough for
 * GRPO groups of 16 to have reward variance from the first window, while the top score needs the
 * prompt-dependent part (copying d). Success means a reward ≥ 0.9.
 *
 * @module
 */

/** The ten digit tokens of a tokenizer, "0" to "9". */
export type DigitTokens = readonly number[];

/**
 * The prompt of problem p.
 *
 * @param problem Problem index (≥ 0).
 * @param digits Token ids of "0".."9".
 * @returns Two copies of digit p mod 10.
 *
 * @example
 * ```ts
 * import { toyPrompt } from "./toy_env.ts";
 * const digits = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
 * if (toyPrompt(13, digits).join() !== "18,18") throw new Error();
 * ```
 */
export function toyPrompt(problem: number, digits: DigitTokens): number[] {
  if (!Number.isInteger(problem) || problem < 0) {
    throw new RangeError(`Invalid problem: got ${problem}, expected an integer ≥ 0`);
  }
  if (digits.length !== 10) {
    throw new RangeError(`Invalid digits: ${digits.length} token ids, expected 10 ("0".."9")`);
  }
  const d = digits[problem % 10];
  return [d, d];
}

/**
 * Reward of a completion of problem p.
 *
 * @param problem Problem index.
 * @param completion Completion token ids.
 * @param digits Token ids of "0".."9".
 * @returns Reward in [0, 1] and success (reward ≥ 0.9).
 *
 * @example
 * ```ts
 * import { toyReward } from "./toy_env.ts";
 * const digits = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
 * const r = toyReward(3, [18, 18, 15, 99], digits); // 2 exact, 1 other digit, 1 non-digit
 * if (r.reward !== (1 + 1 + 0.5 + 0) / 4 || r.success) throw new Error();
 * ```
 */
export function toyReward(
  problem: number,
  completion: readonly number[],
  digits: DigitTokens,
): { reward: number; success: boolean } {
  if (completion.length === 0) return { reward: 0, success: false };
  const target = digits[problem % 10];
  const isDigit = new Set(digits);
  let sum = 0;
  for (const t of completion) sum += (isDigit.has(t) ? 0.5 : 0) + (t === target ? 0.5 : 0);
  const reward = sum / completion.length;
  return { reward, success: reward >= 0.9 };
}
