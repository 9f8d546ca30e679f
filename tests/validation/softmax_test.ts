import { ok, strictEqual, throws } from "node:assert/strict";
import { logSoftmaxAt, softmaxAt } from "../../src/validation/softmax.ts";

// Tolerance 1e-12: float64 reduction of float32 logits; reference values by closed form.

Deno.test("softmaxAt() of equal logits is 1/V", () => {
  ok(Math.abs(softmaxAt(new Float32Array(4), 2) - 0.25) < 1e-12);
});

Deno.test("logSoftmaxAt() is stable for large logits", () => {
  const lp = logSoftmaxAt([1000, 1000], 0);
  ok(Math.abs(lp - Math.log(0.5)) < 1e-12);
});

Deno.test("logSoftmaxAt() rejects an index outside the row", () => {
  throws(() => logSoftmaxAt([0, 1], 2), RangeError);
});

Deno.test("logSoftmaxAt() rejects an empty row", () => {
  throws(() => logSoftmaxAt([], 0), RangeError);
});

Deno.test("softmaxAt() is 0 for a -Infinity logit", () => {
  strictEqual(softmaxAt([0, -Infinity], 1), 0);
});
