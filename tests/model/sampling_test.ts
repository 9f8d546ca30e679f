import { deepStrictEqual, ok as assert, strictEqual, throws } from "node:assert/strict";
import {
  applyRepetitionPenalty,
  ENV_LOOP_GENERATION_DEFAULTS,
  filteredCandidates,
  generationParamsFromMetadata,
  PROTOCOL_GENERATION_DEFAULTS,
  sampleToken,
  type SamplingParams,
} from "../../src/model/sampling.ts";
import { SeededRandom, type UniformSource } from "../../src/model/seeded_random.ts";

const PLAIN: SamplingParams = { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1 };

/** A uniform source replaying fixed draws, to place the inverse-CDF draw exactly. */
function draws(...values: number[]): UniformSource {
  let i = 0;
  return { random: () => values[i++] };
}

function logitsOf(probs: number[]): Float32Array {
  return Float32Array.from(probs, Math.log);
}

Deno.test("applyRepetitionPenalty() divides positive and multiplies negative scores once per id", () => {
  const s = new Float32Array([3, -3, 0, 1]);
  applyRepetitionPenalty(s, [0, 1, 1, 0, 2], 1.5);
  deepStrictEqual([...s], [2, -4.5, 0, 1]);
});

Deno.test("filteredCandidates() keeps every id tied with the k-th score under top-k", () => {
  const c = filteredCandidates(new Float32Array([1, 4, 2, 2, 0]), [], { ...PLAIN, topK: 2 });
  deepStrictEqual(c.ids, [1, 2, 3]);
});

Deno.test("filteredCandidates() keeps the smallest top set reaching top-p mass, as HF", () => {
  // Ascending probs 0.05, 0.15, 0.3, 0.5 have cumulative mass 0.05, 0.2, 0.5, 1; HF removes
  // those with cumulative ≤ 1 − 0.75, leaving {0.5, 0.3}.
  const c = filteredCandidates(logitsOf([0.5, 0.3, 0.15, 0.05]), [], { ...PLAIN, topP: 0.75 });
  deepStrictEqual(c.ids, [0, 1]);
});

Deno.test("filteredCandidates() always keeps the most likely id under a tiny top-p", () => {
  const c = filteredCandidates(logitsOf([0.2, 0.7, 0.1]), [], { ...PLAIN, topP: 0.01 });
  deepStrictEqual(c.ids, [1]);
});

Deno.test("filteredCandidates() divides by the temperature in float32", () => {
  const c = filteredCandidates(new Float32Array([1, 2]), [], { ...PLAIN, temperature: 0.7 });
  deepStrictEqual(c.scores, [Math.fround(1 / 0.7), Math.fround(2 / 0.7)]);
});

Deno.test("sampleToken() maps one uniform draw through the CDF in id order", () => {
  // Probabilities 0.25, 0.5, 0.25: draws below 0.25 give id 0, below 0.75 id 1, else id 2.
  const logits = logitsOf([0.25, 0.5, 0.25]);
  strictEqual(sampleToken(logits, [], PLAIN, draws(0.2)), 0);
  strictEqual(sampleToken(logits, [], PLAIN, draws(0.3)), 1);
  strictEqual(sampleToken(logits, [], PLAIN, draws(0.74)), 1);
  strictEqual(sampleToken(logits, [], PLAIN, draws(0.76)), 2);
});

Deno.test("sampleToken() with greedy takes the penalised argmax, lowest id on ties, and draws nothing", () => {
  const none: UniformSource = {
    random: () => {
      throw new Error("greedy must not draw");
    },
  };
  const logits = new Float32Array([4, 6, 5, 5]);
  strictEqual(sampleToken(logits, [1], { ...PLAIN, repetitionPenalty: 2, greedy: true }, none), 2);
});

Deno.test("sampleToken() frequencies follow the softmax within 3 standard errors", () => {
  // 20,000 draws: the standard error of a frequency p is sqrt(p(1−p)/n) ≤ 0.0035.
  const logits = logitsOf([0.1, 0.6, 0.3]);
  const rng = new SeededRandom(11);
  const counts = [0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[sampleToken(logits, [], PLAIN, rng)]++;
  [0.1, 0.6, 0.3].forEach((p, i) => {
    const se = Math.sqrt((p * (1 - p)) / n);
    assert(Math.abs(counts[i] / n - p) < 3 * se, `id ${i}: ${counts[i] / n} vs ${p}`);
  });
});

Deno.test("sampleToken() rejects a non-positive temperature without greedy", () => {
  throws(
    () => sampleToken(new Float32Array(2), [], { ...PLAIN, temperature: 0 }, draws(0)),
    RangeError,
  );
});

Deno.test("generationParamsFromMetadata() caps max_tokens at 8192 and maps every field", () => {
  const p = generationParamsFromMetadata({
    max_tokens: 9000,
    temperature: 0.6,
    top_p: 0.95,
    top_k: 0,
    repetition_penalty: 1.1,
  });
  deepStrictEqual(p, {
    maxNewTokens: 8192,
    temperature: 0.6,
    topP: 0.95,
    topK: 0,
    repetitionPenalty: 1.1,
  });
});

Deno.test("generationParamsFromMetadata() rejects an out-of-range field naming it", () => {
  throws(
    () =>
      generationParamsFromMetadata({
        max_tokens: 10,
        temperature: 3,
        top_p: 0.9,
        top_k: 50,
        repetition_penalty: 1,
      }),
    (e: unknown) => e instanceof RangeError && e.message.includes("generation_params.temperature"),
  );
});

Deno.test("PROTOCOL_GENERATION_DEFAULTS and ENV_LOOP_GENERATION_DEFAULTS are the reference's", () => {
  // infra spec §4.6 (trainer GRAIL_GEN_* defaults) and envs spec §1.6 (episode loop defaults).
  deepStrictEqual({ ...PROTOCOL_GENERATION_DEFAULTS }, {
    maxNewTokens: 2048,
    temperature: 0.7,
    topP: 0.9,
    topK: 50,
    repetitionPenalty: 1.0,
  });
  deepStrictEqual({ ...ENV_LOOP_GENERATION_DEFAULTS }, {
    maxNewTokens: 8192,
    temperature: 0.6,
    topP: 0.95,
    topK: 20,
    repetitionPenalty: 1.1,
  });
});

Deno.test("sampleToken() never picks an id at or above vocabLimit, sampled or greedy", () => {
  const logits = new Float32Array([0, 1, 9, 9]);
  strictEqual(sampleToken(logits, [], { ...PLAIN, greedy: true, vocabLimit: 2 }, draws()), 1);
  const rng = new SeededRandom(4);
  for (let i = 0; i < 200; i++) {
    assert(sampleToken(logits, [], { ...PLAIN, vocabLimit: 2 }, rng) < 2);
  }
});
