/**
 * Environment lookup by the `env_id` a checkpoint's metadata names (envs spec §1.5). Only the
 * procedural `sat` environment of the live subnet is implemented, plus `echo-digit`, a teaching
 * environment for the local network (not on the live subnet); the dataset, code and kernel
 * environments need shipped dataset snapshots or a Python/GPU sandbox and are refused with a
 * clear error.
 *
 * @module
 */

import type { ChatMessage, EnvEvaluation, Environment, EvaluateOptions } from "./environment.ts";
import { EnvError } from "./environment.ts";
import { ECHO_DIGIT_ENV_ID, EchoDigitEnvironment } from "./echo_digit.ts";
import { SatEnvironment } from "./sat.ts";
import { thinkingConfig, withSystemPrompt } from "./thinking.ts";

/** Environment ids this package implements. */
export const KNOWN_ENV_IDS: readonly string[] = Object.freeze(["sat", ECHO_DIGIT_ENV_ID]);

/** Reference env ids that exist upstream but are not implemented here. */
const UNIMPLEMENTED: Readonly<Record<string, string>> = {
  gsm8k: "needs the openai/gsm8k snapshot",
  math: "needs the hendrycks_math snapshot and sympy",
  mbpp: "needs the MBPP snapshot and a Python sandbox",
  python_code: "needs the MBPP snapshot and a Python sandbox",
  humaneval: "needs the HumanEval snapshot and a Python sandbox",
  triton_kernel: "needs KernelBench, torch, Triton and a CUDA GPU",
};

/**
 * The environment for an env id, with the thinking mode's tags.
 *
 * @param envId The checkpoint metadata's `env_id`.
 * @param thinkingMode The checkpoint's `thinking_mode` (default `"instructed"`).
 * @returns The environment.
 * @throws {EnvError} `unknown_env` for an id that is not implemented; `invalid_option` for a
 *   bad thinking mode.
 *
 * @example
 * ```ts
 * import { getEnvironment } from "./registry.ts";
 * if (getEnvironment("sat").id !== "sat") throw new Error();
 * ```
 */
export function getEnvironment(envId: string, thinkingMode: string = "instructed"): Environment {
  const thinking = thinkingConfig(thinkingMode);
  if (envId === "sat") return new SatEnvironment(thinking) as Environment;
  if (envId === ECHO_DIGIT_ENV_ID) return new EchoDigitEnvironment() as Environment;
  const why = Object.hasOwn(UNIMPLEMENTED, envId) ? UNIMPLEMENTED[envId] : undefined;
  throw new EnvError(
    "unknown_env",
    why === undefined
      ? `No environment named ${JSON.stringify(envId.slice(0, 60))}; known: ${
        KNOWN_ENV_IDS.join(", ")
      }`
      : `Environment ${JSON.stringify(envId)} is not implemented (${why}); known: ${
        KNOWN_ENV_IDS.join(", ")
      }`,
  );
}

/** Checkpoint-level environment settings (`env_id`, `thinking_mode`) plus our reward mode. */
export interface EnvSettings extends EvaluateOptions {
  /** The checkpoint's `env_id`. */
  envId: string;
  /** The checkpoint's `thinking_mode` (default `"instructed"`). */
  thinkingMode?: string;
}

/**
 * The chat messages a miner renders for a seed, system prompt included (the reference's
 * `build_prompt_ids` before the chat template and tokenizer): what the validator's prompt check
 * re-derives from the canonical seed.
 *
 * @param settings Env id and thinking mode.
 * @param seed The seed from `derive_env_seed`.
 * @returns System and user messages.
 * @throws {EnvError} For an unknown env, bad thinking mode or bad seed.
 *
 * @example
 * ```ts
 * import { envPromptMessages } from "./registry.ts";
 * const m = envPromptMessages({ envId: "sat" }, 1319947729);
 * if (m.length !== 2 || m[0].role !== "system" || !m[1].content.startsWith("SAT Problem:")) {
 *   throw new Error();
 * }
 * ```
 */
export function envPromptMessages(settings: EnvSettings, seed: number): ChatMessage[] {
  const mode = settings.thinkingMode ?? "instructed";
  const task = getEnvironment(settings.envId, mode).reset(seed);
  return withSystemPrompt(task.messages, thinkingConfig(mode));
}

/**
 * Judges a decoded completion for a seed in a fresh environment (the reference's
 * `evaluate_completion`): the validator's env-evaluation stage, whose reward feeds the reward
 * re-check.
 *
 * @param settings Env id, thinking mode and reward mode.
 * @param seed The canonical seed.
 * @param completion The completion decoded with special tokens kept.
 * @returns Reward, success and details.
 * @throws {EnvError} For an unknown env, bad options or bad seed.
 *
 * @example
 * ```ts
 * import { evaluateEnvCompletion } from "./registry.ts";
 * const r = evaluateEnvCompletion({ envId: "sat" }, 12345, "no answer");
 * if (r.reward !== -0.2 || r.success) throw new Error();
 * ```
 */
export function evaluateEnvCompletion(
  settings: EnvSettings,
  seed: number,
  completion: string,
): EnvEvaluation {
  const env = getEnvironment(settings.envId, settings.thinkingMode ?? "instructed");
  return env.evaluate(env.reset(seed), completion, settings);
}
