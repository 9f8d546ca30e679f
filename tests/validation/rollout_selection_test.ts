import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  canonicalCommitJson,
  groupDigest,
  groupSamplingSeed,
  groupsToCheck,
  selectRolloutsToCheck,
} from "../../src/validation/rollout_selection.ts";
import { readValidationFixture } from "./_vectors.ts";

// Golden: the reference's MinerValidator._determine_rollouts_to_check and CPython's json.dumps
// (tests/fixtures/validation). Exact: integer/bytes computations and text.
const REF = readValidationFixture("validation_reference.json");

Deno.test("canonicalCommitJson() matches CPython json.dumps(sort_keys, compact) on 6 commits", () => {
  for (const c of REF.rollout_selection) {
    strictEqual(canonicalCommitJson(c.rows[0].commit), c.first_commit_json);
  }
});

Deno.test("selectRolloutsToCheck() picks the reference's rows in 6 files (16 to 656 rows)", () => {
  strictEqual(REF.rollout_selection.length, 6);
  for (const [i, c] of REF.rollout_selection.entries()) {
    const sel = selectRolloutsToCheck(c.rows, c.hotkey, c.window_rand);
    deepStrictEqual(sel.indices, c.indices, `file ${i}`);
  }
});

Deno.test("selectRolloutsToCheck() checks every row of a file with at most 20 rows", () => {
  const c = REF.rollout_selection[0];
  strictEqual(c.rows.length, 16);
  deepStrictEqual(selectRolloutsToCheck(c.rows, c.hotkey, c.window_rand).groups, []);
});

Deno.test("groupDigest() changes when one commit changes", () => {
  const rows = REF.rollout_selection[1].rows.slice(0, 2).map((r: { commit: unknown }) => r.commit);
  const changed = structuredClone(rows);
  changed[1].rollout.advantage += 1e-9;
  strictEqual(groupDigest(rows) === groupDigest(changed), false);
});

Deno.test("groupsToCheck() is 1 for a single group", () => {
  strictEqual(groupsToCheck(1), 1);
});

Deno.test("groupSamplingSeed() depends on the window randomness", () => {
  strictEqual(groupSamplingSeed("5X", "aa") === groupSamplingSeed("5X", "ab"), false);
});

Deno.test("canonicalCommitJson() writes integers beyond 2^53 exactly, as CPython does", () => {
  // json.dumps(commit, sort_keys=True, separators=(",", ":")) of the same dict in CPython 3.
  strictEqual(
    canonicalCommitJson({
      tokens: [1],
      commitments: [{ sketch: 99999999999999999999n }],
      proof_version: "v5",
      model: { name: "m", layer_index: -1 },
      signature: "aa",
      beacon: { randomness: "bb", round: 18446744073709551616n },
      rollout: {
        total_reward: 1,
        advantage: 0,
        success: true,
        token_logprobs: [0],
        prompt_length: 1,
        completion_length: 0,
      },
    }),
    '{"beacon":{"randomness":"bb","round":18446744073709551616},"commitments":[{"sketch":99999999999999999999}],"model":{"layer_index":-1,"name":"m"},"proof_version":"v5","rollout":{"advantage":0.0,"completion_length":0,"prompt_length":1,"success":true,"token_logprobs":[0.0],"total_reward":1.0},"signature":"aa","tokens":[1]}',
  );
});
