import { deepStrictEqual, ok as assert, strictEqual, throws } from "node:assert/strict";
import {
  applyRepetitionPenalty,
  candidateRequest,
  candidateRowWords,
  decodeCandidateRow,
  ENV_LOOP_GENERATION_DEFAULTS,
  filteredCandidates,
  generationParamsFromMetadata,
  PROTOCOL_GENERATION_DEFAULTS,
  type RowCandidates,
  sampleFromCandidates,
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

// ---- sampleFromCandidates(): the device path's sampler -------------------------------------

/**
 * The candidates the GPU kernel returns, computed plainly: ids ranked by logit (NaN and ids past
 * the limit last, -0 == +0, lower id first among equals), the first M with their logits, and
 * the (M+1)-th value as rho.
 */
function referenceCandidates(
  logits: Float32Array,
  m: number,
  limit: number,
  seenIds: readonly number[],
): RowCandidates {
  const excluded = (i: number) => i >= limit || Number.isNaN(logits[i]);
  const order = Array.from(logits, (_, i) => i).sort((a, b) => {
    if (excluded(a) !== excluded(b)) return excluded(a) ? 1 : -1;
    if (!excluded(a) && logits[a] !== logits[b]) return logits[b] - logits[a];
    return a - b;
  });
  const value = (i: number) => (excluded(i) ? -Infinity : logits[i]);
  return {
    ids: Uint32Array.from(order.slice(0, m)),
    logits: Float32Array.from(order.slice(0, m), value),
    rho: value(order[m]),
    hasNaN: logits.some(Number.isNaN),
    seenIds,
    seenLogits: Float32Array.from(seenIds, (id) => logits[id]),
  };
}

/** Logits drawn from a few levels, so rows hold many exact ties (the hard case). */
function tiedLogits(v: number, rng: SeededRandom, levels: number): Float32Array {
  return Float32Array.from({ length: v }, () => Math.floor(rng.random() * levels) / 4 - 3);
}

/**
 * Compares the two samplers on `rows` random rows: where the candidates decide, the token and
 * the number of draws must equal sampleToken's; where they do not, nothing may be drawn.
 * Returns how many rows the candidates decided.
 */
function compareSamplers(
  params: SamplingParams,
  opts: { v: number; levels: number; rows: number; m: number; seed: number },
): number {
  const gen = new SeededRandom(opts.seed);
  let decided = 0;
  for (let r = 0; r < opts.rows; r++) {
    const logits = tiedLogits(opts.v, gen, opts.levels);
    const previous = Array.from({ length: 12 }, () => Math.floor(gen.random() * opts.v));
    const seen = [...new Set(previous)];
    const c = referenceCandidates(logits, opts.m, params.vocabLimit ?? opts.v, seen);
    const a = new SeededRandom(1000 + r);
    const b = new SeededRandom(1000 + r);
    const fromCandidates = sampleFromCandidates(c, previous, params, a);
    if (fromCandidates === null) {
      strictEqual(a.random(), new SeededRandom(1000 + r).random(), `row ${r}: drew before null`);
      continue;
    }
    decided++;
    strictEqual(fromCandidates, sampleToken(logits, previous, params, b), `row ${r}`);
    strictEqual(a.random(), b.random(), `row ${r}: draw count differs`);
  }
  return decided;
}

Deno.test("sampleFromCandidates() picks sampleToken()'s token under top-k, top-p and temperature", () => {
  const params = { ...PROTOCOL_GENERATION_DEFAULTS };
  const decided = compareSamplers(params, { v: 500, levels: 4000, rows: 300, m: 66, seed: 1 });
  assert(decided >= 290, `decided only ${decided}/300`);
});

Deno.test("sampleFromCandidates() picks sampleToken()'s token with a repetition penalty and vocabLimit", () => {
  const params = { ...ENV_LOOP_GENERATION_DEFAULTS, repetitionPenalty: 1.3, vocabLimit: 450 };
  const decided = compareSamplers(params, { v: 500, levels: 4000, rows: 300, m: 36, seed: 2 });
  assert(decided >= 290, `decided only ${decided}/300`);
});

Deno.test("sampleFromCandidates() agrees with greedy sampleToken() on heavily tied rows, penalty on", () => {
  const params = { ...PLAIN, greedy: true, repetitionPenalty: 1.5 };
  // 8 levels over 300 ids: the best value is tied ~40 times, often with penalised ids.
  const decided = compareSamplers(params, { v: 300, levels: 8, rows: 300, m: 8, seed: 3 });
  assert(decided >= 150, `decided only ${decided}/300`);
});

Deno.test("sampleFromCandidates() agrees with greedy sampleToken() on tied rows without a penalty, always deciding", () => {
  const params = { ...PLAIN, greedy: true };
  strictEqual(compareSamplers(params, { v: 300, levels: 8, rows: 200, m: 8, seed: 4 }), 200);
});

Deno.test("sampleFromCandidates() returns null without drawing when top-k ties reach past the candidates", () => {
  // Ten ids share the best logit; top-k 3 keeps all ten, but only 4 candidates came back.
  const logits = new Float32Array(20).fill(-1);
  logits.fill(2, 0, 10);
  const c = referenceCandidates(logits, 4, 20, []);
  const rng = new SeededRandom(9);
  strictEqual(sampleFromCandidates(c, [], { ...PLAIN, topK: 3 }, rng), null);
  strictEqual(rng.random(), new SeededRandom(9).random());
});

Deno.test("sampleFromCandidates() returns null for top-p or plain sampling without top-k", () => {
  const logits = Float32Array.from({ length: 50 }, (_, i) => i / 10);
  const c = referenceCandidates(logits, 10, 50, []);
  strictEqual(sampleFromCandidates(c, [], { ...PLAIN, topP: 0.9 }, new SeededRandom(1)), null);
  strictEqual(sampleFromCandidates(c, [], PLAIN, new SeededRandom(1)), null);
});

Deno.test("sampleFromCandidates() returns null for a row holding NaN", () => {
  const logits = Float32Array.from({ length: 50 }, (_, i) => i / 10);
  logits[0] = NaN;
  const c = referenceCandidates(logits, 10, 50, []);
  strictEqual(sampleFromCandidates(c, [], { ...PLAIN, greedy: true }, new SeededRandom(1)), null);
});

Deno.test("sampleFromCandidates() rejects a penalty without the previous ids' logits", () => {
  const logits = Float32Array.from({ length: 50 }, (_, i) => i / 10);
  const c = referenceCandidates(logits, 10, 50, []);
  throws(
    () => sampleFromCandidates(c, [3], { ...PLAIN, greedy: true, repetitionPenalty: 1.2 }, draws()),
    RangeError,
  );
});

Deno.test("candidateRequest() asks for top-k plus slack, gathers only under a penalty, and needs full rows without top-k", () => {
  const r = candidateRequest({ ...PROTOCOL_GENERATION_DEFAULTS }, 151936)!;
  assert(r.topM > 50 && !r.gatherSeen);
  assert(candidateRequest({ ...ENV_LOOP_GENERATION_DEFAULTS }, 151936)!.gatherSeen);
  strictEqual(candidateRequest({ ...PLAIN, topP: 0.9 }, 151936), null);
  strictEqual(candidateRequest({ ...PLAIN, greedy: true }, 4)!.topM, 3);
});

Deno.test("decodeCandidateRow() reads ids, logits, rho and the NaN count of one candidates row", () => {
  const m = 2;
  const words = new Uint32Array(candidateRowWords(m));
  const bits = new Float32Array(words.buffer);
  words.set([7, 3], 0);
  bits.set([1.5, -2], m);
  bits[2 * m] = -3;
  words[2 * m + 2] = 1;
  const c = decodeCandidateRow(words, m, [4], new Float32Array([0.5]));
  if (c.ids.join() !== "7,3" || c.logits.join() !== "1.5,-2" || c.rho !== -3 || !c.hasNaN) {
    throw new Error(JSON.stringify({ ...c, ids: [...c.ids], logits: [...c.logits] }));
  }
  if (c.seenIds[0] !== 4 || c.seenLogits[0] !== 0.5) throw new Error("seen ids and logits");
});
