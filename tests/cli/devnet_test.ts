import { deepStrictEqual } from "node:assert/strict";
import { main } from "../../src/cli/devnet.ts";
import { cudaUnavailableReason } from "../../src/cuda/context.ts";

Deno.test("main() of grail devnet rejects bad options with exit code 2", async () => {
  for (
    const args of [["--windows", "0"], ["--cheat", "bribe"], ["--backend", "metal"], [
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

Deno.test({
  name: "main() of grail devnet accepts --backend cuda and refuses to run without a CUDA device",
  // Where a device exists the command would run the whole network: tests/devnet covers the
  // wiring there (devnet_backend_test.ts) without a GPU.
  ignore: cudaUnavailableReason() === null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "grail-devnet-cli-" });
    try {
      // 1 (a run-time failure: no device), not 2 (a bad option).
      deepStrictEqual(await main(["--backend", "cuda", "--dir", dir]), 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
