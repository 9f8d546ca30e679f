import { deepStrictEqual, rejects } from "node:assert/strict";
import { runDevnet } from "../../src/devnet/devnet.ts";

/** What a role's loader was asked for, and the error that stops the network there. */
class LoaderReached extends Error {
  constructor(readonly dir: string, readonly backend: string) {
    super(`loader reached with backend ${backend}`);
  }
}

Deno.test("runDevnet() passes backend cuda to every role's model loader", async () => {
  // No GPU needed: the injected loader records the request and stops the network, so this
  // checks the wiring (flag value → loader), not the CUDA model itself (tests/cuda does).
  const dir = await Deno.makeTempDir({ prefix: "grail-devnet-cuda-" });
  const asked: string[] = [];
  try {
    await rejects(
      runDevnet({
        dir,
        windows: 1,
        honestMiners: 1,
        cheat: "none",
        backend: "cuda",
        mode: "strict",
        trainer: false,
        print: () => {},
        loadModel: (d, backend) => {
          asked.push(backend);
          return Promise.reject(new LoaderReached(d, backend));
        },
      }),
      // The role's failure stops the network; the loader's error is its cause.
      (e) => (e as Error).cause instanceof LoaderReached,
    );
    deepStrictEqual(asked.length > 0 && asked.every((b) => b === "cuda"), true, asked.join());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
