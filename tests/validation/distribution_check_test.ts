import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  checkDistribution,
  chosenTokenProbabilities,
  distributionMetrics,
} from "../../src/validation/distribution_check.ts";
import { readValidationFixture } from "./_vectors.ts";

// Golden: the reference's DistributionValidator._compute_metrics/_is_suspicious with NumPy
// 2.4.6 (tests/fixtures/validation). median/q10/min are exact (same sort and interpolation);
// mean and the bimodality coefficient are logged-only and NumPy sums pairwise, so they are
// compared to 1e-12 relative.
const REF = readValidationFixture("validation_reference.json");

Deno.test("checkDistribution() matches the reference's verdicts and reasons on 100 lists", () => {
  strictEqual(REF.distribution.length, 100);
  for (const [i, c] of REF.distribution.entries()) {
    const r = checkDistribution(c.probs);
    strictEqual(r.suspicious, c.suspicious, `case ${i}`);
    deepStrictEqual(r.reasons, c.reasons, `case ${i}`);
  }
});

Deno.test("distributionMetrics() matches the reference's metrics on 100 lists", () => {
  const rel = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
  for (const [i, c] of REF.distribution.entries()) {
    const m = distributionMetrics(c.probs);
    strictEqual(m.median, c.metrics.median, `median ${i}`);
    strictEqual(m.q10, c.metrics.q10, `q10 ${i}`);
    strictEqual(m.min, c.metrics.min, `min ${i}`);
    strictEqual(m.lowFrac, c.metrics.low_frac, `low_frac ${i}`);
    strictEqual(m.highFrac, c.metrics.high_frac, `high_frac ${i}`);
    ok(rel(m.mean, c.metrics.mean), `mean ${i}`);
    ok(rel(m.bc, c.metrics.bc), `bc ${i}: ${m.bc} vs ${c.metrics.bc}`);
  }
});

Deno.test("checkDistribution() fails 29 values as insufficient", () => {
  deepStrictEqual(checkDistribution(new Array(29).fill(0.9)), {
    ok: false,
    suspicious: true,
    reasons: { insufficient: true },
  });
});

Deno.test("checkDistribution() flags a low start even when the whole is fine", () => {
  const probs = [...new Array(10).fill(0.001), ...new Array(200).fill(0.95)];
  const r = checkDistribution(probs);
  ok("metrics" in r);
  strictEqual(r.reasons.q10_low_initial, true);
  strictEqual(r.reasons.q10_low, false);
});

Deno.test("distributionMetrics() throws on an empty list", () => {
  throws(() => distributionMetrics([]), RangeError);
});

Deno.test("chosenTokenProbabilities() applies the repetition penalty before the temperature", () => {
  // Row [2, -2, 0]; token 0 and 1 were seen: 2/2 = 1, -2*2 = -4, then /0.5: [2, -8, 0].
  const rows = [new Float32Array([2, -2, 0])];
  const p = chosenTokenProbabilities(() => rows[0], [0, 1, 2], 2, 1, {
    temperature: 0.5,
    repetitionPenalty: 2,
  });
  const z = Math.exp(2) + Math.exp(-8) + Math.exp(0);
  // float64 softmax of exactly representable float32 scores: 1e-15 relative.
  ok(Math.abs(p[0] - 1 / z) <= 1e-15, `${p[0]}`);
});

Deno.test("chosenTokenProbabilities() skips positions without logits", () => {
  const p = chosenTokenProbabilities(() => undefined, [0, 1, 2], 1, 2, {
    temperature: 1,
    repetitionPenalty: 1,
  });
  deepStrictEqual(p, []);
});

Deno.test("chosenTokenProbabilities() skips position 0 when the prompt is empty", () => {
  const calls: number[] = [];
  chosenTokenProbabilities(
    (t) => {
      calls.push(t);
      return [0, 0];
    },
    [0, 1],
    0,
    2,
    { temperature: 1, repetitionPenalty: 1 },
  );
  deepStrictEqual(calls, [1]);
});
