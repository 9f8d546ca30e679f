import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { computeAdvantages } from "../../src/validation/advantages.ts";
import { readValidationFixture } from "./_vectors.ts";

// Golden: tests/fixtures/validation (the reference's compute_advantages under CPython 3.11.7).
const REF = readValidationFixture("validation_reference.json");

Deno.test("computeAdvantages() matches the reference on 200 groups exactly (3.11 summation)", () => {
  strictEqual(REF.advantages.length, 200);
  for (const [i, c] of REF.advantages.entries()) {
    deepStrictEqual(computeAdvantages(c.rewards, { sum: "cpython311" }), c.advantages, `case ${i}`);
  }
});

Deno.test("computeAdvantages() of an empty group is empty", () => {
  deepStrictEqual(computeAdvantages([]), []);
});

Deno.test("computeAdvantages() of a single reward is 0", () => {
  deepStrictEqual(computeAdvantages([0.7]), [0]);
});

Deno.test("computeAdvantages() of a constant group is all zeros (std floor 1e-8)", () => {
  deepStrictEqual(computeAdvantages(new Array(16).fill(0.5)), new Array(16).fill(0));
});

Deno.test("computeAdvantages() defaults to CPython 3.12's compensated sum", () => {
  // CPython >= 3.12: sum([0.1] * 10) == 1.0 (compensated); 3.11 gives 0.9999999999999999, so
  // the 3.12 mean is exactly 0.1 and all centred values are exactly 0.
  deepStrictEqual(computeAdvantages(new Array(10).fill(0.1)), new Array(10).fill(0));
  strictEqual(
    computeAdvantages(new Array(10).fill(0.1), { sum: "cpython311" }).some((a) => a !== 0),
    true,
  );
});
