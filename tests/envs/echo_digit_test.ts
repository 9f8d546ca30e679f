import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  DIGIT_CHARS,
  ECHO_DIGIT_ENV_ID,
  EchoDigitEnvironment,
  echoDigitPrompt,
  echoDigitReward,
} from "../../src/envs/echo_digit.ts";
import { EnvError } from "../../src/envs/environment.ts";
import {
  envPromptMessages,
  evaluateEnvCompletion,
  getEnvironment,
} from "../../src/envs/registry.ts";

// Rewards are sums of halves over a few units divided by a small count: exact in binary floating
// point for the cases below, so equality is bit-exact.

Deno.test("echoDigitPrompt() shows digit p mod 10 twice in character units", () => {
  deepStrictEqual(echoDigitPrompt(27, DIGIT_CHARS), ["7", "7"]);
});

Deno.test("echoDigitPrompt() rejects a negative problem", () => {
  throws(() => echoDigitPrompt(-1, DIGIT_CHARS), RangeError);
});

Deno.test("echoDigitReward() gives ½ per other digit, 1 per echoed digit, 0 otherwise", () => {
  strictEqual(echoDigitReward(4, ["4", "1", "x", "4"], DIGIT_CHARS).reward, (1 + 0.5 + 0 + 1) / 4);
});

Deno.test("EchoDigitEnvironment.reset() poses the seed's digit as one user message", () => {
  const task = new EchoDigitEnvironment().reset(4_000_000_003);
  strictEqual(task.envId, ECHO_DIGIT_ENV_ID);
  deepStrictEqual(task.problem, { digit: 3 });
  deepStrictEqual(task.messages, [{ role: "user", content: "33" }]);
});

Deno.test("EchoDigitEnvironment.reset() rejects a seed outside 32 bits", () => {
  throws(
    () => new EchoDigitEnvironment().reset(2 ** 32),
    (e: unknown) =>
      e instanceof EnvError && e.code === "invalid_seed" && /4294967296/.test(e.message),
  );
});

Deno.test("EchoDigitEnvironment.evaluate() counts the EOS marker's text in compat mode", () => {
  const env = new EchoDigitEnvironment();
  const task = env.reset(5);
  // "55" then the 10 characters of <|im_end|>: 2 of 12 units are the digit.
  strictEqual(env.evaluate(task, "55<|im_end|>").reward, 2 / 12);
});

Deno.test("EchoDigitEnvironment.evaluate() strips one trailing EOS marker in strip_eos mode", () => {
  const env = new EchoDigitEnvironment();
  const out = env.evaluate(env.reset(5), "55<|im_end|>", {
    rewardMode: "strip_eos",
    eosMarkers: ["<|im_end|>"],
  });
  deepStrictEqual([out.reward, out.success], [1, true]);
});

Deno.test("getEnvironment() serves echo-digit through the registry", () => {
  strictEqual(getEnvironment(ECHO_DIGIT_ENV_ID).id, ECHO_DIGIT_ENV_ID);
});

Deno.test("envPromptMessages() adds the instructed system prompt to an echo-digit task", () => {
  const m = envPromptMessages({ envId: ECHO_DIGIT_ENV_ID }, 12);
  deepStrictEqual(m.map((x) => x.role), ["system", "user"]);
  strictEqual(m[1].content, "22");
});

Deno.test("evaluateEnvCompletion() re-checks an echo-digit reward from the seed", () => {
  const r = evaluateEnvCompletion({ envId: ECHO_DIGIT_ENV_ID }, 9, "9990");
  deepStrictEqual([r.reward, r.success], [(3 + 0.5) / 4, false]);
});
