// Every validation-side vector of ../shared/fixtures/grail-vectors.json (independent
// implementation cross-checked against the reference's pure functions; see its `_note`).
// All comparisons are exact (===): these are double computations done in the same order.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { VECTORS } from "./_vectors.ts";
import { computeAdvantages } from "../../src/validation/advantages.ts";
import { checkDistribution } from "../../src/validation/distribution_check.ts";
import { checkLogprobs } from "../../src/validation/logprob_check.ts";
import { groupSamplingSeed, groupsToCheck } from "../../src/validation/rollout_selection.ts";
import { minerSampleSize, minerTiebreakKey } from "../../src/validation/miner_sampling.ts";
import { computeWeights, type ScoredWindowMetrics } from "../../src/validation/weights.ts";
import { PythonRandom, pythonSeedKeyWords } from "../../src/protocol/python_random.ts";

Deno.test("computeAdvantages() matches grpo_advantages exactly (CPython 3.11 summation)", () => {
  const v = VECTORS.grpo_advantages;
  const got = computeAdvantages(v.rewards, { sum: "cpython311" });
  strictEqual(got.length, 16);
  got.forEach((a, i) => strictEqual(a, v.advantages[i], `advantage ${i}`));
});

Deno.test("computeAdvantages() in CPython 3.12 mode stays within 4 ulps of the vector", () => {
  // The vector was generated under CPython 3.11.7 (plain sum); 3.12's compensated sum moves
  // the std by one ulp here, so each advantage moves by at most a few ulps.
  const v = VECTORS.grpo_advantages;
  computeAdvantages(v.rewards).forEach((a, i) => {
    const b: number = v.advantages[i];
    strictEqual(Math.abs(a - b) <= 4 * Number.EPSILON * Math.abs(b), true, `advantage ${i}`);
  });
});

Deno.test("checkDistribution() matches all 3 distribution vectors (verdict, reasons, metrics)", () => {
  for (const [i, v] of VECTORS.distribution.entries()) {
    const r = checkDistribution(v.probs);
    strictEqual(r.suspicious, v.suspicious, `vector ${i} suspicious`);
    deepStrictEqual(r.reasons, v.reasons, `vector ${i} reasons`);
    if (v.metrics !== undefined && "metrics" in r) {
      strictEqual(r.metrics.median, v.metrics.median, `vector ${i} median`);
      strictEqual(r.metrics.q10, v.metrics.q10, `vector ${i} q10`);
      strictEqual(r.metrics.min, v.metrics.min, `vector ${i} min`);
    }
  }
});

Deno.test("checkLogprobs() matches both logprob_check vectors (verdict and median deviation)", () => {
  for (const [i, v] of VECTORS.logprob_check.entries()) {
    const r = checkLogprobs(v.model_lps, v.miner_lps);
    strictEqual(r.ok, v.ok, `vector ${i} ok`);
    strictEqual(r.medianDeviation, v.median_dev, `vector ${i} median_dev`);
  }
});

Deno.test("groupsToCheck() matches all 10 group_sampling.groups_to_check entries", () => {
  const table: Record<string, number> = VECTORS.group_sampling.groups_to_check;
  strictEqual(Object.keys(table).length, 10);
  for (const [g, want] of Object.entries(table)) {
    strictEqual(groupsToCheck(Number(g)), want, `G=${g}`);
  }
});

Deno.test("groupSamplingSeed() matches group_sampling.seed_int (beyond 2^53) and key words", () => {
  const v = VECTORS.group_sampling;
  const seed = groupSamplingSeed(v.hotkey, v.window_rand);
  strictEqual(seed, v.seed_int);
  const words = [...pythonSeedKeyWords(seed)].map((w) => w.toString(16).padStart(8, "0"));
  deepStrictEqual(words, v.key_words_hex);
});

Deno.test("group sampling draws match sample_10_keys_k1 and sample_40_keys_k4", () => {
  const v = VECTORS.group_sampling;
  const keys = (n: number) => Array.from({ length: n }, (_, i) => String(i));
  deepStrictEqual(new PythonRandom(v.seed_int).sample(keys(10), 1), v.sample_10_keys_k1);
  deepStrictEqual(new PythonRandom(v.seed_int).sample(keys(40), 4), v.sample_40_keys_k4);
});

Deno.test("minerSampleSize() matches all 10 miner_selection.sample_size entries", () => {
  const table: Record<string, number> = VECTORS.miner_selection.sample_size;
  strictEqual(Object.keys(table).length, 10);
  for (const [n, want] of Object.entries(table)) {
    strictEqual(minerSampleSize(Number(n)), want, `n=${n}`);
  }
});

Deno.test("minerTiebreakKey() matches all 3 miner_selection.tiebreak keys (beyond 2^53)", () => {
  for (const v of VECTORS.miner_selection.tiebreak) {
    strictEqual(minerTiebreakKey(v.window_hash, v.hotkey), BigInt(v.key));
  }
});

function weightInputs(v: {
  hotkeys: string[];
  uids: number[];
  target_window: number;
  availability: Record<string, number>;
  inference_counts: Record<string, Record<string, ScoredWindowMetrics>>;
}) {
  const counts = new Map<string, Map<number, ScoredWindowMetrics>>();
  for (const [hk, windows] of Object.entries(v.inference_counts)) {
    counts.set(hk, new Map(Object.entries(windows).map(([w, m]) => [Number(w), m])));
  }
  return {
    hotkeys: v.hotkeys,
    uids: v.uids,
    targetWindow: v.target_window,
    availability: new Map(Object.entries(v.availability)),
    inferenceCounts: counts,
  };
}

Deno.test("computeWeights() matches the weights vector exactly (5 weights)", () => {
  const v = VECTORS.weights;
  deepStrictEqual(computeWeights(weightInputs(v)).weights, v.weights);
});

Deno.test("computeWeights() matches weights_underproduction exactly (5 weights)", () => {
  const v = VECTORS.weights_underproduction;
  deepStrictEqual(computeWeights(weightInputs(v)).weights, v.weights);
});
