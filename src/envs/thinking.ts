/**
 * Thinking modes, their tags and system prompts, and the instructed-mode ChatML rendering
 * (envs spec §2.2). The system prompt is verbatim data: it must match byte for byte.
 *
 * @module
 */

import type { ChatMessage } from "./environment.ts";
import { EnvError } from "./environment.ts";

/** `instructed` (custom tags, plain ChatML) or `native` (the model's own template). */
export type ThinkingMode = "instructed" | "native";

/** Tags and prompt of one thinking mode. */
export interface ThinkingConfig {
  /** The mode. */
  mode: ThinkingMode;
  /** Opening thinking tag, e.g. `<start_working_out>`. */
  thinkingOpen: string;
  /** Closing thinking tag, e.g. `</end_working_out>` (not a mirror of the open tag). */
  thinkingClose: string;
  /** Opening answer tag `<SOLUTION>`. */
  solutionOpen: string;
  /** Closing answer tag `</SOLUTION>`. */
  solutionClose: string;
  /** System prompt (lines joined with `\n`, no trailing newline). */
  systemPrompt: string;
}

const PROMPT_HEAD = "You are given a problem. Think step by step.";
const PROMPT_TAGS = "Place your reasoning between <start_working_out> and </end_working_out>.";
const PROMPT_CODE = "You may write and reason about code during your thinking.";
const PROMPT_SOLUTION =
  "After thinking, you MUST provide your final solution wrapped in <SOLUTION> and </SOLUTION> tags.";
const PROMPT_WARNING =
  "Any code outside <SOLUTION> tags will be ignored. Your answer will score 0 without these tags.";

/** Instructed mode: `<start_working_out>` … `</end_working_out>`, five-line system prompt. */
export const INSTRUCTED_THINKING: ThinkingConfig = Object.freeze({
  mode: "instructed",
  thinkingOpen: "<start_working_out>",
  thinkingClose: "</end_working_out>",
  solutionOpen: "<SOLUTION>",
  solutionClose: "</SOLUTION>",
  systemPrompt: [PROMPT_HEAD, PROMPT_TAGS, PROMPT_CODE, PROMPT_SOLUTION, PROMPT_WARNING].join(
    "\n",
  ),
});

/** Native mode: `<think>` … `</think>`, the same system prompt without the tag line. */
export const NATIVE_THINKING: ThinkingConfig = Object.freeze({
  mode: "native",
  thinkingOpen: "<think>",
  thinkingClose: "</think>",
  solutionOpen: "<SOLUTION>",
  solutionClose: "</SOLUTION>",
  systemPrompt: [PROMPT_HEAD, PROMPT_CODE, PROMPT_SOLUTION, PROMPT_WARNING].join("\n"),
});

/**
 * The configuration of a thinking mode (the checkpoint's `thinking_mode`, case-insensitive).
 *
 * @param mode `"instructed"` or `"native"`.
 * @returns The frozen configuration.
 * @throws {EnvError} `invalid_option` for any other value.
 *
 * @example Instructed mode
 * ```ts
 * import { thinkingConfig } from "./thinking.ts";
 * if (thinkingConfig("instructed").thinkingClose !== "</end_working_out>") throw new Error();
 * ```
 */
export function thinkingConfig(mode: string): ThinkingConfig {
  const m = mode.toLowerCase();
  if (m === "instructed") return INSTRUCTED_THINKING;
  if (m === "native") return NATIVE_THINKING;
  throw new EnvError(
    "invalid_option",
    `Unknown thinking mode ${JSON.stringify(mode.slice(0, 40))}: expected "instructed" or "native"`,
  );
}

/**
 * Prepends the mode's system prompt unless the first message already is a system message
 * (the reference's `prepare_messages`).
 *
 * @param messages The environment's messages.
 * @param config The thinking configuration.
 * @returns A new array with the system message first.
 *
 * @example
 * ```ts
 * import { INSTRUCTED_THINKING, withSystemPrompt } from "./thinking.ts";
 * const out = withSystemPrompt([{ role: "user", content: "hi" }], INSTRUCTED_THINKING);
 * if (out.length !== 2 || out[0].role !== "system") throw new Error();
 * ```
 */
export function withSystemPrompt(
  messages: readonly ChatMessage[],
  config: ThinkingConfig,
): ChatMessage[] {
  if (messages.length > 0 && messages[0].role === "system") return [...messages];
  return [{ role: "system", content: config.systemPrompt }, ...messages];
}

/**
 * Renders messages with the instructed mode's plain ChatML template (system prompt added as
 * needed, generation prompt appended): each message is
 * `<|im_start|>{role}\n{content}<|im_end|>\n`, then `<|im_start|>assistant\n`. Native mode uses
 * the model's own Jinja template, which belongs to the tokenizer, not here.
 *
 * @param messages The environment's messages.
 * @returns The rendered prompt text, ready for the tokenizer.
 *
 * @example
 * ```ts
 * import { renderInstructedPrompt } from "./thinking.ts";
 * const text = renderInstructedPrompt([{ role: "user", content: "Q" }]);
 * if (!text.endsWith("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n")) throw new Error();
 * ```
 */
export function renderInstructedPrompt(messages: readonly ChatMessage[]): string {
  let out = "";
  for (const m of withSystemPrompt(messages, INSTRUCTED_THINKING)) {
    out += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  }
  return out + "<|im_start|>assistant\n";
}
