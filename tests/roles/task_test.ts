import { deepStrictEqual, ok as assert, strictEqual, throws } from "node:assert/strict";
import { buildPromptIds, evaluateCompletion, pipelineTokenizer } from "../../src/roles/task.ts";
import { fixtureTokenizer, TASK } from "./_fixtures.ts";

const tokenizer = pipelineTokenizer(await fixtureTokenizer());
const SYSTEM_LINES = [
  "You are given a problem. Think step by step.",
  "Place your reasoning between <start_working_out> and </end_working_out>.",
  "You may write and reason about code during your thinking.",
  "After thinking, you MUST provide your final solution wrapped in <SOLUTION> and </SOLUTION> tags.",
  "Any code outside <SOLUTION> tags will be ignored. Your answer will score 0 without these tags.",
];

Deno.test("buildPromptIds() renders the instructed ChatML prompt of the envs spec", () => {
  const text = tokenizer.decode(buildPromptIds(TASK, 1319947729, tokenizer));
  // envs spec §2.2 and §3.1: system prompt, the SAT user message for seed 1319947729.
  assert(
    text.startsWith(
      `<|im_start|>system\n${SYSTEM_LINES.join("\n")}<|im_end|>\n<|im_start|>user\nSAT Problem:\n`,
    ),
  );
  assert(text.includes("Variables: 7\n"));
  assert(text.endsWith("<|im_end|>\n<|im_start|>assistant\n"));
});

Deno.test("buildPromptIds() encodes the chat markers as single special tokens", () => {
  const ids = buildPromptIds(TASK, 12345, tokenizer);
  strictEqual(ids[0], 2046);
  // Three <|im_start|> (system, user, assistant) and two <|im_end|>, each one id.
  strictEqual(ids.filter((id) => id === 2046).length, 3);
  strictEqual(ids.filter((id) => id === 2047).length, 2);
});

Deno.test("buildPromptIds() needs a chat template in native mode", () => {
  throws(
    () =>
      buildPromptIds({ ...TASK, thinkingMode: "native" }, 1, {
        ...tokenizer,
        applyChatTemplate: undefined,
      }),
    TypeError,
  );
});

Deno.test("buildPromptIds() renders native mode with the model's template and the native system prompt", () => {
  const seen: string[] = [];
  const t = {
    ...tokenizer,
    applyChatTemplate: (
      m: readonly { role: string; content: string }[],
    ) => (seen.push(m[0].content), "x"),
  };
  buildPromptIds({ ...TASK, thinkingMode: "native" }, 1, t);
  strictEqual(seen[0], [SYSTEM_LINES[0], ...SYSTEM_LINES.slice(2)].join("\n"));
});

Deno.test("evaluateCompletion() keeps the EOS marker in compat reward mode", () => {
  // seed 12345: 9 variables (envs spec §3.1); a well-formed answer then <|im_end|>.
  const ids = tokenizer.encode("<SOLUTION>1 1 1 1 1 1 1 1 1</SOLUTION><|im_end|>");
  const compat = evaluateCompletion(TASK, 12345, ids, tokenizer);
  const stripped = evaluateCompletion({ ...TASK, rewardMode: "strip_eos" }, 12345, ids, tokenizer);
  strictEqual(compat.success, false);
  assert(stripped.reward > compat.reward);
});

Deno.test("pipelineTokenizer() asks the model's template for a generation prompt with thinking on", () => {
  let options: unknown;
  const t = pipelineTokenizer({
    encode: () => [],
    decode: () => "",
    eosTokenId: null,
    applyChatTemplate: (_m, o) => (options = o, ""),
  });
  t.applyChatTemplate!([{ role: "user", content: "hi" }]);
  deepStrictEqual(options, { addGenerationPrompt: true, enableThinking: true });
});
