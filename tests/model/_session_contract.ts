/**
 * Contract checks of a generation session that offers device-side selection (`select`), shared
 * by the backends' tests (tests/gpu for WebGPU, tests/cuda for CUDA): each takes a loaded model
 * and the fixture it came from, and asserts what every such backend must do.
 */
import { deepStrictEqual, ok as assert, rejects, strictEqual } from "node:assert/strict";
import { ModelError } from "../../src/model/errors.ts";
import { generate, type GenerateOptions } from "../../src/model/generate.ts";
import type { GenerationSession, Model } from "../../src/model/model.ts";
import {
  ENV_LOOP_GENERATION_DEFAULTS,
  PROTOCOL_GENERATION_DEFAULTS,
} from "../../src/model/sampling.ts";
import { SeededRandom } from "../../src/model/seeded_random.ts";
import type { Golden } from "./_golden.ts";

/** Largest |a[i] − b[i]|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Whether two float arrays hold the same bits. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

/** The same model with its sessions' device selection hidden: generate() takes full rows. */
export function fullRowsOnly(model: Model): Model {
  return new Proxy(model, {
    get(target, key) {
      if (key === "startGeneration") {
        return (batch: number, maxLen: number): GenerationSession => {
          const s = target.startGeneration(batch, maxLen);
          return {
            prefill: (p) => s.prefill(p),
            step: (t) => s.step(t),
            lastHidden: () => s.lastHidden!(),
            dispose: () => s.dispose(),
          };
        };
      }
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** Sampling settings the select path must reproduce token for token. */
export const DECODE_PARAMS: [string, GenerateOptions][] = [
  ["protocol defaults (T 0.7, top-p 0.9, top-k 50)", { ...PROTOCOL_GENERATION_DEFAULTS }],
  ["env-loop defaults (repetition penalty 1.1, top-k 20)", { ...ENV_LOOP_GENERATION_DEFAULTS }],
  ["greedy", { greedy: true }],
  ["greedy with repetition penalty 1.3", { greedy: true, repetitionPenalty: 1.3 }],
  ["top-k 5, penalty 1.5, vocabLimit 1000", {
    temperature: 1,
    topP: 1,
    topK: 5,
    repetitionPenalty: 1.5,
    vocabLimit: 1000,
  }],
];

/**
 * Same model, same seed, only the host's view of the logits differs (candidates vs rows): tokens
 * identical; select's log-probs bit-equal to the proof forward's (same lm_head, same kernel), the
 * full-row path's (float64 log-softmax of the same f32 logits) within 1e-5 of them.
 */
export async function checkSelectMatchesFullRows(
  model: Model,
  golden: Golden,
  params: GenerateOptions,
): Promise<void> {
  const prompt = golden.seqs[0].inputIds.slice(0, 9);
  const prompts = [prompt, prompt, prompt, golden.seqs[1].inputIds.slice(0, 5)];
  const opts = { ...params, maxNewTokens: 24, eosTokenIds: [] };
  const viaSelect = await generate(model, prompts, opts, new SeededRandom(11));
  const viaRows = await generate(fullRowsOnly(model), prompts, opts, new SeededRandom(11));
  deepStrictEqual(viaSelect.map((r) => r.tokens), viaRows.map((r) => r.tokens));
  const proofs = await model.proofForward(viaSelect.map((r) => r.tokens));
  viaSelect.forEach((r, b) => {
    const fromProof = proofs[b].nextTokenLogprobs.subarray(r.promptLength - 1);
    assert(sameBits(r.completionLogprobs, fromProof), `row ${b}: select log-probs`);
    const d = maxAbsDiff(viaRows[b].completionLogprobs, fromProof);
    assert(d < 1e-5, `row ${b}: full-row log-prob diff ${d}`);
  });
}

/**
 * Greedy without a penalty decodes in chunks of device steps; rows that end mid-chunk keep running
 * on the device and are cut on the host. EOS ids are taken from a first run so that two rows end
 * at different steps of the first chunk.
 */
export async function checkGreedyChunksMatchFullRows(model: Model, golden: Golden): Promise<void> {
  const prompts = [0, 1, 2, 3].map((s) =>
    golden.seqs[s % golden.seqs.length].inputIds.slice(0, 6 + s)
  );
  const free = await generate(fullRowsOnly(model), prompts, {
    greedy: true,
    maxNewTokens: 40,
    eosTokenIds: [],
  }, new SeededRandom(0));
  const eos = [free[0].tokens[6 + 5], free[3].tokens[9 + 11]];
  const opts = { greedy: true, maxNewTokens: 40, eosTokenIds: eos };
  const viaDevice = await generate(model, prompts, opts, new SeededRandom(0));
  const viaRows = await generate(fullRowsOnly(model), prompts, opts, new SeededRandom(0));
  deepStrictEqual(viaDevice.map((r) => r.tokens), viaRows.map((r) => r.tokens));
  deepStrictEqual(viaDevice.map((r) => r.finishReason), viaRows.map((r) => r.finishReason));
  assert(viaDevice.some((r) => r.finishReason === "eos"), "some row ended on EOS");
  const proofs = await model.proofForward(viaDevice.map((r) => r.tokens));
  viaDevice.forEach((r, b) => {
    const fromProof = proofs[b].nextTokenLogprobs.subarray(r.promptLength - 1);
    assert(sameBits(r.completionLogprobs, fromProof), `row ${b}: log-probs`);
  });
}

/** `select.greedy()` feeds each step's argmax and logs the fed tokens' log-probs. */
export async function checkSelectGreedyFeedsArgmax(model: Model, golden: Golden): Promise<void> {
  const prompt = golden.seqs[0].inputIds.slice(0, 8);
  const session = model.startGeneration(2, 20);
  const select = session.select!;
  const first = await select.prefill([prompt, prompt.slice(0, 5)], {
    topM: 8,
    gatherSeen: false,
  });
  const argmax = (c: { ids: Uint32Array; logits: Float32Array }) => {
    let best = 0;
    for (let i = 1; i < c.ids.length; i++) {
      if (
        c.logits[i] > c.logits[best] ||
        (c.logits[i] === c.logits[best] && c.ids[i] < c.ids[best])
      ) best = i;
    }
    return c.ids[best];
  };
  const start = first.candidates.map(argmax);
  const out = await select.greedy!(start, 6, { topM: 8, gatherSeen: false });
  strictEqual(out.tokens.length, 12);
  deepStrictEqual([...out.nan], new Array(12).fill(0));
  const seqs = [0, 1].map((b) => [
    ...(b === 0 ? prompt : prompt.slice(0, 5)),
    start[b],
    ...[0, 1, 2, 3, 4, 5].map((j) => out.tokens[2 * j + b]),
  ]);
  const proofs = await model.proofForward(seqs);
  [0, 1].forEach((b) => {
    const p = b === 0 ? 8 : 5;
    for (let j = 0; j < 6; j++) {
      // Step j fed token p + j (start, then argmaxes) and logged its log-prob.
      strictEqual(
        out.logprobs[2 * j + b],
        proofs[b].nextTokenLogprobs[p + j - 1],
        `row ${b} step ${j}`,
      );
    }
  });
  await rejects(
    select.greedy!(start, 50, { topM: 8, gatherSeen: false }),
    (e) => e instanceof ModelError && e.code === "cache_full",
  );
  session.dispose();
}
