// Golden values: grail-vectors.json constants (the reference's grail/protocol/constants.py). Exact.
import { strictEqual } from "node:assert/strict";
import * as constants from "../../src/protocol/constants.ts";
import { readFixtureJson } from "./_fixtures.ts";

const vectors = await readFixtureJson<{ constants: Record<string, number | string> }>(
  "grail-vectors.json",
);

Deno.test("constants match all 8 grail-vectors protocol constants", () => {
  const ours: Record<string, number | string> = {
    PRIME_Q: constants.PRIME_Q,
    CHALLENGE_K: constants.CHALLENGE_K,
    PROOF_TOPK: constants.PROOF_TOPK,
    PROOF_NUM_BUCKETS: constants.PROOF_NUM_BUCKETS,
    PROOF_COEFF_RANGE: constants.PROOF_COEFF_RANGE,
    TOL_BASE: constants.PROOF_SKETCH_TOLERANCE_BASE,
    TOL_GROWTH: constants.PROOF_SKETCH_TOLERANCE_GROWTH,
    GRAIL_PROOF_VERSION: constants.GRAIL_PROOF_VERSION,
  };
  let matched = 0;
  for (const [name, value] of Object.entries(vectors.constants)) {
    strictEqual(ours[name], value, name);
    matched++;
  }
  strictEqual(matched, 8);
});
