import { strictEqual, throws } from "node:assert/strict";
import {
  envPromptMessages,
  evaluateEnvCompletion,
  getEnvironment,
  KNOWN_ENV_IDS,
} from "../../src/envs/registry.ts";
import { satProblem } from "../../src/envs/sat.ts";
import { EnvError } from "../../src/envs/environment.ts";
import { NATIVE_THINKING } from "../../src/envs/thinking.ts";
import type { SatEnvironment } from "../../src/envs/sat.ts";

Deno.test("getEnvironment() returns the SAT environment with the requested thinking mode", () => {
  const env = getEnvironment("sat", "native") as unknown as SatEnvironment;
  strictEqual(env.id, "sat");
  strictEqual(env.thinking, NATIVE_THINKING);
});

Deno.test("getEnvironment() says why a reference env is not implemented", () => {
  throws(
    () => getEnvironment("gsm8k"),
    (e: unknown) => e instanceof EnvError && e.code === "unknown_env" && /snapshot/.test(e.message),
  );
});

Deno.test("getEnvironment() names the known envs for an unknown id", () => {
  throws(
    () => getEnvironment("nope"),
    (e: unknown) => e instanceof EnvError && e.message.includes(KNOWN_ENV_IDS.join(", ")),
  );
});

Deno.test("getEnvironment() treats an Object.prototype name as an unknown id", () => {
  throws(
    () => getEnvironment("constructor"),
    (e: unknown) =>
      e instanceof EnvError && e.message.startsWith('No environment named "constructor"'),
  );
});

Deno.test("envPromptMessages() prepends the mode's system prompt to the SAT prompt", () => {
  const m = envPromptMessages({ envId: "sat", thinkingMode: "native" }, 12345);
  strictEqual(m[0].content, NATIVE_THINKING.systemPrompt);
  strictEqual(m[1].content, satProblem(12345).prompt);
});

Deno.test("evaluateEnvCompletion() passes the reward mode through", () => {
  const p = satProblem(12345);
  // Brute-force a satisfying assignment (9 variables).
  let answer = "";
  for (let m = 0; m < 1 << p.numVars && answer === ""; m++) {
    const bits = Array.from({ length: p.numVars }, (_, i) => (m >> i) & 1);
    if (p.clauses.every((c) => c.some((l) => (l > 0 ? bits[l - 1] === 1 : bits[-l - 1] === 0)))) {
      answer = bits.join(" ");
    }
  }
  const text = `<SOLUTION>${answer}</SOLUTION><|im_end|>`;
  strictEqual(evaluateEnvCompletion({ envId: "sat" }, 12345, text).success, false);
  strictEqual(
    evaluateEnvCompletion(
      { envId: "sat", rewardMode: "strip_eos", eosMarkers: ["<|im_end|>"] },
      12345,
      text,
    ).success,
    true,
  );
});
