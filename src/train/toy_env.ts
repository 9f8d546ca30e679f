/**
 * "Echo the digit" in token units, for the learning demonstration (`learning_demo.ts`) and its
 * toy miner: the same prompt and reward as the `echo-digit` environment (`src/envs/echo_digit.ts`,
 * where the logic lives), applied to token ids instead of characters.
 *
 * @example
 * ```ts
 * import { toyPrompt, toyReward } from "./toy_env.ts";
 * const digits = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
 * if (toyPrompt(13, digits).join() !== "18,18") throw new Error();
 * if (toyReward(3, [18, 18], digits).reward !== 1) throw new Error();
 * ```
 *
 * @module
 */

export { echoDigitPrompt as toyPrompt, echoDigitReward as toyReward } from "../envs/echo_digit.ts";

/** The ten digit tokens of a tokenizer, "0" to "9". */
export type DigitTokens = readonly number[];
