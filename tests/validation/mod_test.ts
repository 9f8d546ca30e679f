import { strictEqual } from "node:assert/strict";
import * as validation from "../../src/validation/mod.ts";

Deno.test("validation mod re-exports the checks and scoring", () => {
  strictEqual(typeof validation.computeWeights, "function");
  strictEqual(typeof validation.checkTermination, "function");
  strictEqual(validation.ROLLOUTS_PER_PROBLEM, 16);
});

Deno.test("validation mod import graph stays GPU-free and network-free", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../../src/validation/mod.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  for (const m of info.modules) {
    if (!m.specifier.startsWith("file:")) continue;
    strictEqual(/\/src\/(validation|protocol)\//.test(m.specifier), true, m.specifier);
  }
});
