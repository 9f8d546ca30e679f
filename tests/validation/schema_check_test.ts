import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { checkCommitSchema } from "../../src/validation/schema_check.ts";

function commit(): Record<string, unknown> {
  const tokens = Array.from({ length: 40 }, (_, i) => i);
  return {
    tokens,
    commitments: tokens.map(() => ({ sketch: 1 })),
    proof_version: "v5",
    model: { name: "m", layer_index: -1 },
    signature: "aa",
    beacon: { randomness: "abcDEF01" },
    rollout: {
      total_reward: 1.0,
      advantage: 0.5,
      success: true,
      token_logprobs: tokens.map(() => 0),
      prompt_length: 8,
      completion_length: 32,
    },
  };
}

Deno.test("checkCommitSchema() accepts a well-formed commit", () => {
  deepStrictEqual(checkCommitSchema(commit()), { ok: true, errors: [] });
});

Deno.test("checkCommitSchema() ignores extra keys, as Pydantic does", () => {
  strictEqual(checkCommitSchema({ ...commit(), extra: 1 }).ok, true);
});

Deno.test("checkCommitSchema() rejects fewer than 32 tokens", () => {
  const c = commit();
  c.tokens = [1, 2];
  ok(checkCommitSchema(c).errors.some((e) => e.startsWith("tokens:")));
});

Deno.test("checkCommitSchema() rejects a beacon with a 0x prefix (the --no-drand miner bug)", () => {
  const c = commit();
  c.beacon = { randomness: "0xabc" };
  ok(checkCommitSchema(c).errors.some((e) => e.startsWith("beacon.randomness:")));
});

Deno.test("checkCommitSchema() rejects a hex beacon followed by a newline", () => {
  const c = commit();
  c.beacon = { randomness: "abc\n" };
  strictEqual(checkCommitSchema(c).ok, false);
});

Deno.test("checkCommitSchema() rejects commitments of the wrong length", () => {
  const c = commit();
  (c.commitments as unknown[]).pop();
  ok(checkCommitSchema(c).errors.some((e) => e.startsWith("commitments:")));
});

Deno.test("checkCommitSchema() rejects lengths that do not add up", () => {
  const c = commit();
  (c.rollout as Record<string, unknown>).prompt_length = 9;
  ok(checkCommitSchema(c).errors.some((e) => e.startsWith("rollout:")));
});

Deno.test("checkCommitSchema() rejects completion_length 0 and above 8192", () => {
  for (const n of [0, 8193]) {
    const c = commit();
    (c.rollout as Record<string, unknown>).completion_length = n;
    ok(checkCommitSchema(c).errors.some((e) => e.startsWith("rollout.completion_length:")), `${n}`);
  }
});

Deno.test("checkCommitSchema() coerces lax values (whole floats, numeric strings, 0/1 booleans)", () => {
  const c = commit();
  (c.model as Record<string, unknown>).layer_index = "-1";
  (c.rollout as Record<string, unknown>).success = 1;
  (c.rollout as Record<string, unknown>).prompt_length = 8.0;
  strictEqual(checkCommitSchema(c).ok, true);
});

Deno.test("checkCommitSchema() rejects a fractional integer and a non-boolean success", () => {
  const c = commit();
  (c.model as Record<string, unknown>).layer_index = -1.5;
  (c.rollout as Record<string, unknown>).success = "maybe";
  const r = checkCommitSchema(c);
  ok(r.errors.includes("model.layer_index: expected an integer"));
  ok(r.errors.includes("rollout.success: expected a boolean"));
});

Deno.test("checkCommitSchema() rejects an Object.prototype name as success", () => {
  // Pydantic's lax bool accepts only its listed strings; "constructor" is not one of them.
  const c = commit();
  (c.rollout as Record<string, unknown>).success = "constructor";
  const r = checkCommitSchema(c);
  strictEqual(r.ok, false);
  ok(r.errors.includes("rollout.success: expected a boolean"), r.errors.join("; "));
});

Deno.test("checkCommitSchema() reports every missing field", () => {
  const r = checkCommitSchema({});
  for (
    const f of ["tokens", "commitments", "proof_version", "signature", "model", "beacon", "rollout"]
  ) {
    ok(r.errors.includes(`${f}: field required`), f);
  }
});

Deno.test("checkCommitSchema() rejects a non-object", () => {
  strictEqual(checkCommitSchema([]).ok, false);
});
