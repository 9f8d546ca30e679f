import { strictEqual, throws } from "node:assert/strict";
import { getEnvironment, KNOWN_ENV_IDS } from "../../src/envs/registry.ts";
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
