import { deepStrictEqual } from "node:assert/strict";
import { main } from "../../src/cli/devnet.ts";

Deno.test("main() of grail devnet rejects bad options with exit code 2", async () => {
  for (
    const args of [["--windows", "0"], ["--cheat", "bribe"], ["--backend", "cuda"], [
      "--max-tokens",
      "8",
    ], ["--nope"]]
  ) {
    deepStrictEqual(await main(args), 2, args.join(" "));
  }
});

Deno.test("main() of grail devnet prints its help with exit code 0", async () => {
  deepStrictEqual(await main(["--help"]), 0);
});
