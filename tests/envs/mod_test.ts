import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { localModulePaths } from "../_module_graph.ts";
import * as envs from "../../src/envs/mod.ts";

Deno.test("envs mod exports satProblem() with the documented shape", () => {
  const p = envs.satProblem(1319947729);
  deepStrictEqual(Object.keys(p).sort(), ["clauses", "numVars", "prompt"]);
  strictEqual(p.prompt, envs.satPromptText(envs.satProblemForSeed(1319947729)));
});

Deno.test("envs mod import graph stays inside src/envs and src/protocol", async () => {
  const local = await localModulePaths("src/envs/mod.ts");
  ok(local.length > 1, `expected the envs modules in the graph, got ${local.length}`);
  for (const path of local) ok(/^src\/(envs|protocol)\//.test(path), `unexpected module ${path}`);
});
