import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  aggregateMinerRows,
  type CheckedRow,
  gateCopycatMetrics,
  HARD_CHECKS,
  invalidFileMetrics,
  softFailureCutoffs,
} from "../../src/validation/aggregation.ts";
import { computeAdvantages } from "../../src/validation/advantages.ts";
import { readValidationFixture } from "./_vectors.ts";

// Expected values follow the reference loop (protocol spec §5.10) worked by hand.

const PASS = Object.fromEntries(
  [...HARD_CHECKS, "reward_valid", "token_distribution_valid"].map((k) => [k, true]),
);

function group(
  gid: string,
  overrides: (i: number) => Partial<CheckedRow> = () => ({}),
): CheckedRow[] {
  const rewards = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const adv = computeAdvantages(rewards);
  return rewards.map((r, i) => ({
    groupId: gid,
    groupMember: { totalReward: r, advantage: adv[i] },
    checks: PASS,
    success: r === 1,
    completionDigest: `${gid}-${i % 12}`,
    ...overrides(i),
  }));
}

Deno.test("softFailureCutoffs() is at least 1 for an empty plan", () => {
  deepStrictEqual(softFailureCutoffs(0), { reward_valid: 1, token_distribution_valid: 1 });
});

Deno.test("aggregateMinerRows() extrapolates with Python int() truncation", () => {
  // 16 checked of 48 rows; 12 unique digests: int(48 * (12/16)) = 36; successful 8 → 24.
  const m = aggregateMinerRows(group("0"), 48, 16);
  strictEqual(m.had_failure, 0);
  strictEqual(m.unique, 12);
  strictEqual(m.estimated_unique, 36);
  strictEqual(m.estimated_successful, 24);
  strictEqual(m.estimated_valid, 48);
});

Deno.test("aggregateMinerRows() fails on the first hard failure and zeroes the counts", () => {
  const rows = group("0", (i) => (i === 5 ? { checks: { ...PASS, proof_valid: false } } : {}));
  const m = aggregateMinerRows(rows, 16, 16);
  strictEqual(m.had_failure, 1);
  strictEqual(m.failure_reason, "hard:proof_valid");
  strictEqual(m.checked, 6);
  strictEqual(m.estimated_unique, 0);
});

Deno.test("aggregateMinerRows() counts a hard check missing from the results as failed", () => {
  const { logprobs_valid: _, ...partial } = PASS;
  const m = aggregateMinerRows(group("0", () => ({ checks: partial })), 16, 16);
  strictEqual(m.failure_reason, "hard:logprobs_valid");
});

Deno.test("aggregateMinerRows() gates at the soft cutoff: 4 reward failures of 16 planned", () => {
  // ceil(0.2 * 16) = 4.
  const three = group("0", (i) => (i < 3 ? { checks: { ...PASS, reward_valid: false } } : {}));
  strictEqual(aggregateMinerRows(three, 16, 16).had_failure, 0);
  const four = group("0", (i) => (i < 4 ? { checks: { ...PASS, reward_valid: false } } : {}));
  const m = aggregateMinerRows(four, 16, 16);
  strictEqual(m.failure_reason, "soft:reward_valid");
  strictEqual(m.checked, 4);
});

Deno.test("aggregateMinerRows() fails a pre-pipeline failure (e.g. signature)", () => {
  const rows = group("0", (i) => (i === 0 ? { preCheckFailure: "signature" } : {}));
  strictEqual(aggregateMinerRows(rows, 16, 16).failure_reason, "hard:signature");
});

Deno.test("aggregateMinerRows() skips processing errors without failing", () => {
  const rows = group("0", (i) => (i === 2 ? { processingError: true } : {}));
  const m = aggregateMinerRows(rows, 16, 16);
  strictEqual(m.had_failure, 0);
  strictEqual(m.checked, 16);
  strictEqual(m.valid, 15);
});

Deno.test("aggregateMinerRows() runs the GRPO checks after the loop", () => {
  const rows = group(
    "0",
    (i) => (i === 0 ? { groupMember: { totalReward: 1, advantage: 5 } } : {}),
  );
  strictEqual(aggregateMinerRows(rows, 16, 16).failure_reason, "grpo:advantage_sum");
});

Deno.test("aggregateMinerRows() of no rows is a pass with zero counts", () => {
  const m = aggregateMinerRows([], 0, 0);
  strictEqual(m.had_failure, 0);
  strictEqual(m.estimated_unique, 0);
});

Deno.test("invalidFileMetrics() marks the failure with the file reason", () => {
  strictEqual(invalidFileMetrics("corrupt_parquet").had_failure, 1);
});

Deno.test("gateCopycatMetrics() zeroes the weight-bearing counts and keeps checked/total", () => {
  const m = gateCopycatMetrics(aggregateMinerRows(group("0"), 48, 16));
  strictEqual(m.estimated_unique, 0);
  strictEqual(m.valid, 0);
  strictEqual(m.checked, 16);
  strictEqual(m.total, 48);
  strictEqual(m.had_failure, 1);
});

Deno.test("aggregateMinerRows() gates like the reference's _process_validation_results (80 miners)", () => {
  // Golden: tests/fixtures/validation (the reference's per-row hard/soft gating; checks missing
  // from a row's dict are absent, exactly as the pipeline leaves them after a hard failure).
  const REF = readValidationFixture("validation_reference.json");
  strictEqual(REF.aggregation.length, 80);
  for (const [i, c] of REF.aggregation.entries()) {
    const rows: CheckedRow[] = c.rows.map((
      r: { checks: Record<string, boolean>; success: boolean; digest: string },
    ) => ({ checks: r.checks, success: r.success, completionDigest: r.digest }));
    const m = aggregateMinerRows(rows, c.total, rows.length);
    strictEqual(m.had_failure === 1, c.failed, `case ${i}`);
    strictEqual(m.failure_reason, c.failure_reason, `case ${i}`);
    strictEqual(m.checked, c.checked, `case ${i}`);
    strictEqual(m.estimated_valid, c.estimated_valid, `case ${i}`);
    strictEqual(m.estimated_unique, c.estimated_unique, `case ${i}`);
    strictEqual(m.estimated_successful, c.estimated_successful, `case ${i}`);
  }
});
