/**
 * "Echo the digit" (`env_id` `echo-digit`): a teaching environment for the local network, NOT an
 * environment of the live subnet (the reference has no such env). A tiny random model can learn
 * it within a few windows, so the devnet (`grail devnet --env echo-digit`) and the learning demo
 * (`grail train --demo`) show the trainer improving the policy (docs/train.md).
 *
 * Problem p (the protocol seed) shows the digit d = p mod 10 twice. The model writes its
 * completion; each unit of the completion (a character of the decoded text here, a token id in
 * the learning demo) earns ½ if it is any digit and another ½ if it is d itself, averaged over
 * the completion, so the reward lies in [0, 1]. A random model starts near the digits' share of
 * its vocabulary: dense enough for GRPO groups of 16 to have reward variance from the first
 * window, while the top score needs the prompt-dependent part (copying d). Success means a
 * reward ≥ 0.9.
 *
 * The prompt goes through the same rendering as every env (instructed-mode system prompt and
 * ChatML), so miners build it and validators rebuild it from the seed exactly as for SAT. The
 * reward is judged on the decoded completion as given (special tokens kept, envs spec §2.3): an
 * EOS marker's text counts as non-digit characters, as trailing text does in SAT.
 *
 * @module
 */

import type { EnvEvaluation, Environment, EnvTask, EvaluateOptions } from "./environment.ts";
import { EnvError } from "./environment.ts";
import { applyRewardMode } from "./_reward_mode.ts";

/** The environment id, as checkpoint metadata names it. */
export const ECHO_DIGIT_ENV_ID = "echo-digit";

/** The ten digit characters "0" to "9": the units of the text form of the env. */
export const DIGIT_CHARS: readonly string[] = Object.freeze([..."0123456789"]);

/** Reward at or above which a completion counts as a success. */
export const ECHO_DIGIT_SUCCESS_REWARD = 0.9;

/**
 * The prompt units of problem p: two copies of digit p mod 10, in whatever units `digits` holds
 * (characters, or token ids in the learning demo).
 *
 * @param problem Problem index (an integer ≥ 0; the protocol seed).
 * @param digits The units of "0".."9", in order.
 * @returns Two copies of digit p mod 10.
 * @throws {RangeError} For a negative or fractional problem, or a digit table not of ten.
 *
 * @example Characters
 * ```ts
 * import { DIGIT_CHARS, echoDigitPrompt } from "./echo_digit.ts";
 * if (echoDigitPrompt(13, DIGIT_CHARS).join("") !== "33") throw new Error();
 * ```
 * @example Token ids
 * ```ts
 * import { echoDigitPrompt } from "./echo_digit.ts";
 * const digits = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
 * if (echoDigitPrompt(13, digits).join() !== "18,18") throw new Error();
 * ```
 */
export function echoDigitPrompt<U>(problem: number, digits: readonly U[]): U[] {
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
 * Reward of a completion of problem p: the mean over its units of ½·[unit is a digit] +
 * ½·[unit is digit p mod 10].
 *
 * @param problem Problem index.
 * @param completion Completion units (characters or token ids).
 * @param digits The units of "0".."9", in order.
 * @returns Reward in [0, 1] (0 for an empty completion) and success (reward ≥ 0.9).
 *
 * @example Token ids: 2 exact, 1 other digit, 1 non-digit
 * ```ts
 * import { echoDigitReward } from "./echo_digit.ts";
 * const digits = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
 * const r = echoDigitReward(3, [18, 18, 15, 99], digits);
 * if (r.reward !== (1 + 1 + 0.5 + 0) / 4 || r.success) throw new Error();
 * ```
 */
export function echoDigitReward<U>(
  problem: number,
  completion: readonly U[],
  digits: readonly U[],
): { reward: number; success: boolean } {
  if (completion.length === 0) return { reward: 0, success: false };
  const target = digits[problem % 10];
  const isDigit = new Set(digits);
  let sum = 0;
  for (const t of completion) sum += (isDigit.has(t) ? 0.5 : 0) + (t === target ? 0.5 : 0);
  const reward = sum / completion.length;
  return { reward, success: reward >= ECHO_DIGIT_SUCCESS_REWARD };
}

/** The problem of an echo-digit task: the digit to echo. */
export interface EchoDigitProblem {
  /** The digit d = seed mod 10. */
  digit: number;
}

/**
 * The text form of "echo the digit" behind the {@linkcode Environment} interface: the user
 * message is the digit written twice (`"77"`), and the reward counts the characters of the
 * decoded completion (Unicode code points).
 *
 * @example A perfect and a partly right completion
 * ```ts
 * import { EchoDigitEnvironment } from "./echo_digit.ts";
 * const env = new EchoDigitEnvironment();
 * const task = env.reset(1234567); // digit 7
 * if (task.messages[0].content !== "77") throw new Error();
 * if (env.evaluate(task, "7777").reward !== 1) throw new Error();
 * if (env.evaluate(task, "7x").reward !== 0.5) throw new Error();
 * ```
 */
export class EchoDigitEnvironment implements Environment<EchoDigitProblem> {
  /** `echo-digit`. */
  readonly id: string = ECHO_DIGIT_ENV_ID;

  /**
   * The task of a protocol seed.
   *
   * @param seed The 32-bit seed (`derive_env_seed`).
   * @returns One user message with the digit twice.
   * @throws {EnvError} `invalid_seed` for a seed that is not an integer in [0, 2³²).
   */
  reset(seed: number): EnvTask<EchoDigitProblem> {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
      throw new EnvError(
        "invalid_seed",
        `Invalid echo-digit seed ${seed}: expected an integer in [0, 2^32)`,
      );
    }
    return {
      envId: ECHO_DIGIT_ENV_ID,
      seed,
      taskId: String(seed),
      problem: { digit: seed % 10 },
      messages: [{ role: "user", content: echoDigitPrompt(seed, DIGIT_CHARS).join("") }],
    };
  }

  /**
   * Judges a decoded completion.
   *
   * @param task The task from `reset`.
   * @param completion The completion text (special tokens kept).
   * @param options Reward mode: `"strip_eos"` first removes one trailing EOS marker.
   * @returns Reward, success, the single component `r0` and the digit counts.
   * @throws {EnvError} `invalid_option` for a bad reward mode.
   */
  evaluate(
    task: EnvTask<EchoDigitProblem>,
    completion: string,
    options?: EvaluateOptions,
  ): EnvEvaluation {
    const units = [...applyRewardMode(completion, options)];
    const { reward, success } = echoDigitReward(task.problem.digit, units, DIGIT_CHARS);
    const target = String(task.problem.digit);
    return {
      reward,
      success,
      components: { r0: reward },
      info: {
        digit: task.problem.digit,
        length: units.length,
        digits: units.filter((c) => DIGIT_CHARS.includes(c)).length,
        exact: units.filter((c) => c === target).length,
      },
    };
  }
}
