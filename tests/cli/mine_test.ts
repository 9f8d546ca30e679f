import { deepStrictEqual } from "node:assert/strict";
import { main } from "../../src/cli/mine.ts";

Deno.test("main() of grail mine rejects a bad option with exit code 2", async () => {
  deepStrictEqual(await main(["--netuid", "eighty"]), 2);
  deepStrictEqual(await main(["--bogus"]), 2);
});

Deno.test("main() of grail mine prints its help with exit code 0", async () => {
  deepStrictEqual(await main(["-h"]), 0);
});
