import { ok, strictEqual } from "node:assert/strict";
import { localModulePaths } from "../_module_graph.ts";
import * as validation from "../../src/validation/mod.ts";

Deno.test("validation mod re-exports the checks and scoring", () => {
  strictEqual(typeof validation.computeWeights, "function");
  strictEqual(typeof validation.checkTermination, "function");
  strictEqual(validation.ROLLOUTS_PER_PROBLEM, 16);
});

Deno.test("validation mod import graph stays GPU-free and network-free", async () => {
  const local = await localModulePaths("src/validation/mod.ts");
  ok(local.length > 1, `expected the validation modules in the graph, got ${local.length}`);
  for (const path of local) {
    ok(/^src\/(validation|protocol)\//.test(path), `unexpected module ${path}`);
  }
});
