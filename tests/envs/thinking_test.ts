import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  INSTRUCTED_THINKING,
  NATIVE_THINKING,
  renderInstructedPrompt,
  thinkingConfig,
  withSystemPrompt,
} from "../../src/envs/thinking.ts";
import { EnvError } from "../../src/envs/environment.ts";

// The system prompt lines are the envs spec §2.2's verbatim data.
const SPEC_LINES = [
  "You are given a problem. Think step by step.",
  "Place your reasoning between <start_working_out> and </end_working_out>.",
  "You may write and reason about code during your thinking.",
  "After thinking, you MUST provide your final solution wrapped in <SOLUTION> and </SOLUTION> tags.",
  "Any code outside <SOLUTION> tags will be ignored. Your answer will score 0 without these tags.",
];

Deno.test("INSTRUCTED_THINKING has the spec's five-line system prompt", () => {
  strictEqual(INSTRUCTED_THINKING.systemPrompt, SPEC_LINES.join("\n"));
});

Deno.test("NATIVE_THINKING drops the tag line from the system prompt", () => {
  strictEqual(NATIVE_THINKING.systemPrompt, [SPEC_LINES[0], ...SPEC_LINES.slice(2)].join("\n"));
  strictEqual(NATIVE_THINKING.thinkingClose, "</think>");
});

Deno.test("thinkingConfig() accepts the mode case-insensitively", () => {
  strictEqual(thinkingConfig("NATIVE"), NATIVE_THINKING);
});

Deno.test("thinkingConfig() rejects an unknown mode with EnvError invalid_option", () => {
  throws(
    () => thinkingConfig("chain"),
    (e: unknown) => e instanceof EnvError && e.code === "invalid_option",
  );
});

Deno.test("withSystemPrompt() keeps an existing system message", () => {
  const msgs = [{ role: "system" as const, content: "S" }, { role: "user" as const, content: "U" }];
  deepStrictEqual(withSystemPrompt(msgs, INSTRUCTED_THINKING), msgs);
});

Deno.test("renderInstructedPrompt() renders the spec's ChatML prompt", () => {
  const text = renderInstructedPrompt([{ role: "user", content: "USER" }]);
  strictEqual(
    text,
    `<|im_start|>system\n${SPEC_LINES.join("\n")}<|im_end|>\n` +
      "<|im_start|>user\nUSER<|im_end|>\n<|im_start|>assistant\n",
  );
  ok(!text.includes("enable_thinking"));
});
