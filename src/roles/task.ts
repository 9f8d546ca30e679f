/**
 * What miner and validator must agree on to pose a problem: the window's task settings (from the
 * checkpoint metadata) and one prompt recipe, shared so the miner builds the prompt exactly as
 * the validator rebuilds it (protocol spec §5.6 #3, envs spec §2.2).
 *
 * @module
 */

import type { ChatMessage, EvaluateOptions } from "../envs/environment.ts";
import { getEnvironment } from "../envs/registry.ts";
import { renderInstructedPrompt, thinkingConfig, withSystemPrompt } from "../envs/thinking.ts";
import type { GenerationParams } from "../model/sampling.ts";

/**
 * The slice of a tokenizer the pipelines use. It must behave as Hugging Face's does with its
 * defaults: `encode` = `tokenizer(text)["input_ids"]` (special tokens written in the text are
 * recognised; no BOS for Qwen), `decode` = `decode(ids, skip_special_tokens=False)`.
 */
export interface PipelineTokenizer {
  /** Text → ids, as `tokenizer(text)["input_ids"]`. */
  encode(text: string): number[];
  /** Ids → text with special tokens kept (the envs score the text as the reference does). */
  decode(ids: readonly number[]): string;
  /** `tokenizer.eos_token_id`; null when the tokenizer has none. */
  readonly eosTokenId: number | null;
  /**
   * The model's own chat template (native thinking mode only), as
   * `apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=True)`.
   */
  applyChatTemplate?(messages: readonly ChatMessage[]): string;
}

/** The per-window task as the trainer publishes it in the checkpoint metadata. */
export interface TaskConfig {
  /** `env_id`, e.g. `"sat"`. */
  envId: string;
  /** `thinking_mode`: `"instructed"` (plain ChatML) or `"native"` (the model's template). */
  thinkingMode: "instructed" | "native";
  /** `generation_params` (max_tokens already capped at 8192). */
  generation: GenerationParams;
  /**
   * How completions are scored: `"compat"` keeps the EOS marker in the decoded text as the
   * reference does (envs spec §2.3); `"strip_eos"` removes it. Miner and validator must agree.
   */
  rewardMode?: EvaluateOptions["rewardMode"];
}

/**
 * Builds the prompt ids for a problem seed: env reset → system prompt → chat template →
 * tokenizer, the reference's `build_prompt_ids`.
 *
 * @param task The window's task.
 * @param seed The problem seed (`deriveEnvSeed`).
 * @param tokenizer The tokenizer.
 * @returns The prompt ids.
 * @throws {EnvError} For an unknown env or thinking mode.
 * @throws {TypeError} In native mode when the tokenizer has no chat template.
 *
 * @example
 * ```ts
 * import { buildPromptIds } from "./task.ts";
 * const bytes = {
 *   encode: (t: string) => Array.from(new TextEncoder().encode(t)),
 *   decode: (ids: readonly number[]) => new TextDecoder().decode(Uint8Array.from(ids)),
 *   eosTokenId: null,
 * };
 * const task = {
 *   envId: "sat", thinkingMode: "instructed" as const,
 *   generation: { maxNewTokens: 64, temperature: 0.7, topP: 1, topK: 0, repetitionPenalty: 1 },
 * };
 * const text = bytes.decode(buildPromptIds(task, 1319947729, bytes));
 * if (!text.startsWith("<|im_start|>system\n") || !text.endsWith("<|im_start|>assistant\n")) {
 *   throw new Error(text);
 * }
 * ```
 */
export function buildPromptIds(
  task: TaskConfig,
  seed: number,
  tokenizer: PipelineTokenizer,
): number[] {
  const env = getEnvironment(task.envId, task.thinkingMode);
  const messages = env.reset(seed).messages;
  return tokenizer.encode(renderPrompt(task, messages, tokenizer));
}

function renderPrompt(
  task: TaskConfig,
  messages: readonly ChatMessage[],
  tokenizer: PipelineTokenizer,
): string {
  if (task.thinkingMode === "instructed") return renderInstructedPrompt(messages);
  if (tokenizer.applyChatTemplate === undefined) {
    throw new TypeError(
      "Cannot render a native-mode prompt: the tokenizer has no chat template; load the model's tokenizer_config.json",
    );
  }
  return tokenizer.applyChatTemplate(withSystemPrompt(messages, thinkingConfig("native")));
}

/**
 * Scores a completion as the reference's `evaluate_completion`: fresh env, reset with the seed,
 * one step with the decoded text (special tokens kept).
 *
 * @param task The window's task.
 * @param seed The problem seed.
 * @param completionIds The completion ids (prompt excluded).
 * @param tokenizer The tokenizer.
 * @returns Reward and success.
 * @throws {EnvError} For an unknown env.
 *
 * @example
 * ```ts
 * import { evaluateCompletion } from "./task.ts";
 * const bytes = {
 *   encode: (t: string) => Array.from(new TextEncoder().encode(t)),
 *   decode: (ids: readonly number[]) => new TextDecoder().decode(Uint8Array.from(ids)),
 *   eosTokenId: null,
 * };
 * const task = {
 *   envId: "sat", thinkingMode: "instructed" as const,
 *   generation: { maxNewTokens: 64, temperature: 0.7, topP: 1, topK: 0, repetitionPenalty: 1 },
 * };
 * const out = evaluateCompletion(task, 1319947729, bytes.encode("no answer"), bytes);
 * if (out.success || typeof out.reward !== "number") throw new Error();
 * ```
 */
export function evaluateCompletion(
  task: TaskConfig,
  seed: number,
  completionIds: readonly number[],
  tokenizer: PipelineTokenizer,
): { reward: number; success: boolean } {
  const env = getEnvironment(task.envId, task.thinkingMode);
  const text = tokenizer.decode(completionIds);
  const eosMarkers = tokenizer.eosTokenId === null
    ? []
    : [tokenizer.decode([tokenizer.eosTokenId])];
  const out = env.evaluate(env.reset(seed), text, {
    rewardMode: task.rewardMode ?? "compat",
    eosMarkers,
  });
  return { reward: out.reward, success: out.success };
}

/** The tokenizer calls the pipelines make, as the model's tokenizer offers them. */
export interface ModelTokenizerLike {
  /** See `ModelTokenizer.encode`. */
  encode(text: string): number[];
  /** See `ModelTokenizer.decode` (special tokens kept by default). */
  decode(ids: readonly number[]): string;
  /** EOS id or null. */
  readonly eosTokenId: number | null;
  /** See `ModelTokenizer.applyChatTemplate`. */
  applyChatTemplate(
    messages: readonly { role: string; content: string; [key: string]: unknown }[],
    options?: { addGenerationPrompt?: boolean; enableThinking?: boolean },
  ): string;
}

/**
 * Adapts a `ModelTokenizer` (src/model/tokenizer.ts) to {@linkcode PipelineTokenizer}: the
 * native template is rendered with a generation prompt and thinking on, as the reference does.
 *
 * @param t The model's tokenizer.
 * @returns The pipeline view of it.
 *
 * @example
 * ```ts
 * import { pipelineTokenizer } from "./task.ts";
 * const t = pipelineTokenizer({
 *   encode: (s: string) => [s.length],
 *   decode: () => "",
 *   eosTokenId: 2,
 *   applyChatTemplate: () => "x",
 * });
 * if (t.encode("abc")[0] !== 3 || t.eosTokenId !== 2) throw new Error();
 * ```
 */
export function pipelineTokenizer(t: ModelTokenizerLike): PipelineTokenizer {
  return {
    encode: (text) => t.encode(text),
    decode: (ids) => t.decode(ids),
    eosTokenId: t.eosTokenId,
    applyChatTemplate: (messages) =>
      t.applyChatTemplate(messages.map((m) => ({ ...m })), {
        addGenerationPrompt: true,
        enableThinking: true,
      }),
  };
}
