// The root export is the GPU-free verification library: its import graph must stay inside the
// protocol layer, it must load without permissions, and it must export the agreed names.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as mod from "../mod.ts";
import { localModulePaths } from "./_module_graph.ts";

const ROOT = new URL("../", import.meta.url);
const FORBIDDEN = ["src/gpu/", "src/cuda/", "src/net/", "src/roles/"];

Deno.test("mod.ts import graph never reaches src/gpu, src/cuda, src/net or src/roles", async () => {
  const local = await localModulePaths("mod.ts");
  ok(local.length > 10, `expected the protocol modules in the graph, got ${local.length}`);
  for (const path of local) {
    ok(!FORBIDDEN.some((f) => path.startsWith(f)), `mod.ts reaches ${path}`);
    ok(path === "mod.ts" || path.startsWith("src/protocol/"), `unexpected module ${path}`);
  }
});

Deno.test("mod.ts loads and verifies a signature with no permissions granted", async () => {
  const script = `
    import { signSr25519, sr25519KeypairFromSeed, verifyBindingSignature, sketchCoefficients } from "./mod.ts";
    const pair = sr25519KeypairFromSeed(new Uint8Array(32).fill(1));
    const m = new Uint8Array(32);
    if (!verifyBindingSignature(m, signSr25519(m, pair), pair.publicKey)) throw new Error("bad");
    console.log(sketchCoefficients("ab").length);
  `;
  // `deno run -` with no --allow flags: any permission request fails instead of prompting.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const out = await child.output();
  ok(out.success, new TextDecoder().decode(out.stderr));
  strictEqual(new TextDecoder().decode(out.stdout).trim(), "16");
});

Deno.test("mod.ts exports the agreed constants", () => {
  deepStrictEqual(
    [
      mod.GRAIL_PROOF_VERSION,
      mod.PRIME_Q,
      mod.CHALLENGE_K,
      mod.PROOF_TOPK,
      mod.PROOF_NUM_BUCKETS,
      mod.PROOF_COEFF_RANGE,
    ],
    ["v5", 2147483647, 32, 16, 8, 127],
  );
});

Deno.test("mod.ts exports the agreed functions with their arities", () => {
  const expected: Record<string, number> = {
    prf: 3,
    challengeIndices: 4,
    challengeIndicesInRange: 5,
    sketchCoefficients: 1, // topk is optional
    logMagnitudeBucket: 1,
    sketchOf: 2,
    sketches: 3,
    sketchTolerance: 1,
    verifySketch: 3,
    hashTokens: 1,
    hashCommitments: 1,
    commitBinding: 5,
    verifyBindingSignature: 3,
    parseRollout: 1, // options are optional
  };
  for (const [name, arity] of Object.entries(expected)) {
    const fn = (mod as unknown as Record<string, unknown>)[name];
    strictEqual(typeof fn, "function", name);
    strictEqual((fn as (...args: unknown[]) => unknown).length, arity, name);
  }
  strictEqual(typeof mod.PythonRandom, "function");
  strictEqual(typeof mod.RolloutError, "function");
});
