import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { checkGrpoGroups, type GroupMember } from "../../src/validation/group_checks.ts";
import { computeAdvantages } from "../../src/validation/advantages.ts";
import { readValidationFixture } from "./_vectors.ts";

// Golden: the reference's MinerValidator._validate_grpo_groups (tests/fixtures/validation).
const REF = readValidationFixture("validation_reference.json");

function members(
  rows: { advantage: number | string; total_reward: number; env_seed: number | null }[],
): GroupMember[] {
  // JSON has no NaN: the generator writes non-finite values as their Python repr ("nan").
  return rows.map((r) => ({
    advantage: typeof r.advantage === "string"
      ? Number(r.advantage.replace("nan", "NaN"))
      : r.advantage,
    totalReward: r.total_reward,
    envSeed: r.env_seed,
  }));
}

Deno.test("checkGrpoGroups() agrees with the reference on 120 groups (compat, 3.11 sums)", () => {
  strictEqual(REF.grpo_groups.length, 120);
  for (const [i, c] of REF.grpo_groups.entries()) {
    const r = checkGrpoGroups(new Map([["g", members(c.rows)]]), { sum: "cpython311" });
    strictEqual(r.ok, c.ok, `case ${i}`);
  }
});

function honest(): GroupMember[] {
  const rewards = Array.from({ length: 16 }, (_, i) => (i % 3) / 2);
  const adv = computeAdvantages(rewards);
  return rewards.map((r, i) => ({ totalReward: r, advantage: adv[i] }));
}

Deno.test("checkGrpoGroups() passes an empty set of groups", () => {
  deepStrictEqual(checkGrpoGroups(new Map()), { ok: true });
});

Deno.test("checkGrpoGroups() fails a group of 15 with group_size", () => {
  deepStrictEqual(checkGrpoGroups(new Map([["7", honest().slice(1)]])), {
    ok: false,
    group: "7",
    reason: "group_size",
  });
});

Deno.test("checkGrpoGroups() fails advantages that do not sum to zero", () => {
  const rows = honest().map((m) => ({ ...m, advantage: m.advantage + 0.001 }));
  strictEqual(checkGrpoGroups(new Map([["0", rows]])).reason, "advantage_sum");
});

Deno.test("checkGrpoGroups() fails one advantage off by more than 1e-3", () => {
  const rows = honest();
  rows[0] = { ...rows[0], advantage: rows[0].advantage + 0.0015 };
  rows[1] = { ...rows[1], advantage: rows[1].advantage - 0.0015 };
  strictEqual(checkGrpoGroups(new Map([["0", rows]])).reason, "advantage_mismatch");
});

Deno.test("checkGrpoGroups() fails differing env seeds", () => {
  const rows = honest();
  rows[2] = { ...rows[2], envSeed: 5 };
  strictEqual(checkGrpoGroups(new Map([["0", rows]])).reason, "env_seed");
});

Deno.test("checkGrpoGroups() lets a NaN advantage through in compat mode, like the reference", () => {
  const rows = honest();
  rows[4] = { ...rows[4], advantage: NaN };
  strictEqual(checkGrpoGroups(new Map([["0", rows]])).ok, true);
});

Deno.test("checkGrpoGroups() fails a NaN advantage in strict mode", () => {
  const rows = honest();
  rows[4] = { ...rows[4], advantage: NaN };
  strictEqual(checkGrpoGroups(new Map([["0", rows]]), { mode: "strict" }).reason, "non_finite");
});
