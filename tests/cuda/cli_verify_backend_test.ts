import { ok as assert, strictEqual } from "node:assert/strict";
import { main } from "../../src/cli/verify.ts";

// The CLI's --backend accepts cuda (src/cli/verify.ts); this checks the option parsing only, so
// it runs everywhere: the usage error lists cuda among the backends.
Deno.test("main() of grail verify names cuda among the accepted backends", async () => {
  const err: string[] = [];
  const code = await main(["rows.parquet", "--model", "/nonexistent", "--backend", "tpu"], {
    out: () => {},
    err: (l) => err.push(l),
  });
  strictEqual(code, 2);
  assert(err[0].includes("--backend must be cpu, webgpu or cuda"), err[0]);
});
