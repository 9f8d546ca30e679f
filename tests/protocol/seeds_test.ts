// Golden values: grail-vectors.json derive_env_seed and miner_combined_randomness (checked there
// against the reference functions). Exact.
import { strictEqual, throws } from "node:assert/strict";
import { deriveEnvSeed, minerCombinedRandomness } from "../../src/protocol/seeds.ts";
import { readFixtureJson } from "./_fixtures.ts";

const vectors = await readFixtureJson<{
  derive_env_seed: { hotkey: string; window_hash: string; group: number; seed: number }[];
  miner_combined_randomness: {
    window_block_hash: string;
    drand_randomness: string;
    combined: string;
  };
}>("grail-vectors.json");

Deno.test("deriveEnvSeed() matches all 3 grail-vectors env seeds", () => {
  let matched = 0;
  for (const v of vectors.derive_env_seed) {
    strictEqual(deriveEnvSeed(v.hotkey, v.window_hash, v.group), v.seed);
    matched++;
  }
  strictEqual(matched, 3);
});

Deno.test("deriveEnvSeed() rejects a negative group", () => {
  throws(() => deriveEnvSeed("5F3sa2", "0x00", -1), RangeError);
});

Deno.test("minerCombinedRandomness() matches the grail-vectors combined randomness", () => {
  const v = vectors.miner_combined_randomness;
  strictEqual(minerCombinedRandomness(v.window_block_hash, v.drand_randomness), v.combined);
});
