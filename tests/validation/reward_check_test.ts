import { strictEqual } from "node:assert/strict";
import { checkReward } from "../../src/validation/reward_check.ts";

// Expected values follow CPython's math.isclose(a, b, rel_tol=0.02, abs_tol=1e-6); the
// fixture-driven isclose test in _python_math_test.ts covers 200 random pairs.

Deno.test("checkReward() accepts a 1.5 % difference", () => {
  strictEqual(checkReward(1.0, 0.985), true);
});

Deno.test("checkReward() rejects a correctness flip", () => {
  strictEqual(checkReward(1.1349999999999998, 0.1349999999999998), false);
});

Deno.test("checkReward() accepts tiny differences around zero via abs_tol", () => {
  strictEqual(checkReward(0, 9e-7), true);
  strictEqual(checkReward(0, 2e-6), false);
});

Deno.test("checkReward() rejects NaN", () => {
  strictEqual(checkReward(NaN, NaN), false);
});
