import { deepStrictEqual } from "node:assert/strict";
import { main } from "../../src/cli/validate.ts";

Deno.test("main() of grail validate rejects a bad option with exit code 2", async () => {
  deepStrictEqual(await main(["--mode", "lenient"]), 2);
});

Deno.test("main() of grail validate prints its help with exit code 0", async () => {
  deepStrictEqual(await main(["--help"]), 0);
});
