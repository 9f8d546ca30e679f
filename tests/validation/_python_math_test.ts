import { strictEqual, throws } from "node:assert/strict";
import {
  fsum,
  isClose,
  median,
  pythonSum,
  quantileLinear,
} from "../../src/validation/_python_math.ts";
import { readValidationFixture } from "./_vectors.ts";

// Golden: CPython 3.11.7 math.fsum / math.isclose and NumPy 2.4.6 median / quantile
// (tests/fixtures/validation/validation_reference.json). Exact: same algorithms in doubles.
const M = readValidationFixture("validation_reference.json").python_math;

Deno.test("fsum() matches CPython math.fsum on 200 lists exactly", () => {
  for (const c of M.fsum) strictEqual(fsum(c.xs), c.sum, JSON.stringify(c.xs));
});

Deno.test("fsum() of nothing is 0", () => {
  strictEqual(fsum([]), 0);
});

Deno.test("fsum() rounds [1e16, 1.0, 1e-16] correctly where a plain loop does not", () => {
  // CPython: math.fsum([1e16, 1.0, 1e-16]) == 1.0000000000000002e16
  strictEqual(fsum([1e16, 1.0, 1e-16]), 1.0000000000000002e16);
});

Deno.test("fsum() refuses inf + -inf like CPython", () => {
  throws(() => fsum([Infinity, -Infinity]), RangeError);
});

Deno.test("isClose() matches CPython math.isclose(rel_tol=0.02, abs_tol=1e-6) on 200 pairs", () => {
  for (const c of M.isclose) strictEqual(isClose(c.a, c.b, 0.02, 1e-6), c.close, `${c.a} ${c.b}`);
});

Deno.test("isClose() is false for NaN", () => {
  strictEqual(isClose(NaN, NaN, 0.02, 1e-6), false);
});

Deno.test("median() and quantileLinear() match NumPy on 200 lists exactly", () => {
  for (const c of M.quantile) {
    strictEqual(median(c.xs), c.median);
    strictEqual(quantileLinear(c.xs, 0.10), c.q10);
  }
});

Deno.test("median() of an empty list throws", () => {
  throws(() => median([]), RangeError);
});

Deno.test("pythonSum() in 3.12 mode applies Neumaier compensation", () => {
  // CPython 3.12's test_builtin asserts sum([1.0, 10E100, 1.0, -10E100]) == 2.0; CPython
  // 3.11.7 (checked here) returns 0.0.
  strictEqual(pythonSum([1.0, 10e100, 1.0, -10e100]), 2.0);
  strictEqual(pythonSum([1.0, 10e100, 1.0, -10e100], "cpython311"), 0.0);
});
