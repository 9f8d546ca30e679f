import { strictEqual } from "node:assert/strict";
import { deriveEnvSeed } from "../../src/protocol/seeds.ts";
import { satProblem } from "../../src/envs/sat.ts";

// The envs spec §2.1/§3.1 vectors, end to end: hotkey + window hash + problem index → seed →
// SAT instance, as a miner derives it (exact: integer arithmetic).
const HOTKEY = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const WINDOW_HASH = "0x" + "ab".repeat(32);

Deno.test("satProblem() of deriveEnvSeed(idx 0) is the spec's 7-variable, 11-clause instance", () => {
  const seed = deriveEnvSeed(HOTKEY, WINDOW_HASH, 0);
  strictEqual(seed, 1319947729);
  const p = satProblem(seed);
  strictEqual(p.numVars, 7);
  strictEqual(p.clauses.length, 11);
});

Deno.test("deriveEnvSeed() gives the spec's seeds for problem indices 1 and 2", () => {
  strictEqual(deriveEnvSeed(HOTKEY, WINDOW_HASH, 1), 2594012133);
  strictEqual(deriveEnvSeed(HOTKEY, WINDOW_HASH, 2), 3561094049);
});
