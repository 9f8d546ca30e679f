import { deepStrictEqual, strictEqual } from "node:assert/strict";
import * as envs from "../../src/envs/mod.ts";

Deno.test("envs mod exports satProblem() with the documented shape", () => {
  const p = envs.satProblem(1319947729);
  deepStrictEqual(Object.keys(p).sort(), ["clauses", "numVars", "prompt"]);
  strictEqual(p.prompt, envs.satPromptText(envs.satProblemForSeed(1319947729)));
});

Deno.test("envs mod import graph stays inside src/envs and src/protocol", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../../src/envs/mod.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  for (const m of info.modules) {
    if (!m.specifier.startsWith("file:")) continue;
    strictEqual(/\/src\/(envs|protocol)\//.test(m.specifier), true, m.specifier);
  }
});
