import {
  deepStrictEqual,
  notDeepStrictEqual,
  ok as assert,
  rejects,
  strictEqual,
} from "node:assert/strict";
import { type CpuModel, loadCpuModel } from "../../src/model/cpu_model.ts";
import { generate, generateGroup, GRPO_GROUP_SIZE } from "../../src/model/generate.ts";
import type { GenerationSession, Model } from "../../src/model/model.ts";
import { SeededRandom } from "../../src/model/seeded_random.ts";
import { SHARED } from "./_golden.ts";
import { makeTinyModel } from "../../src/model/tiny.ts";

let loaded: CpuModel | undefined;
async function model(): Promise<CpuModel> {
  loaded ??= await loadCpuModel(`${SHARED}fixtures/qwen3-tiny`);
  return loaded;
}

const PROMPT = [1331, 696, 788, 1481, 1358, 1253, 904, 932, 1947];
const SAMPLED = {
  temperature: 0.7,
  topP: 0.9,
  topK: 50,
  repetitionPenalty: 1.0,
  maxNewTokens: 12,
  eosTokenIds: [],
};

/** Wraps a model so that every session records its lastHidden() after each prefill/step. */
function recording(inner: Model, log: Float32Array[]): Model {
  return {
    config: inner.config,
    hiddenSize: inner.hiddenSize,
    vocabSize: inner.vocabSize,
    backend: inner.backend,
    proofForward: (s, o) => inner.proofForward(s, o),
    dispose: () => inner.dispose(),
    startGeneration(batch, maxLen): GenerationSession {
      const s = inner.startGeneration(batch, maxLen);
      return {
        prefill: async (p) => {
          const out = await s.prefill(p);
          log.push(await s.lastHidden!());
          return out;
        },
        step: async (t) => {
          const out = await s.step(t);
          log.push(await s.lastHidden!());
          return out;
        },
        dispose: () => s.dispose(),
      };
    },
  };
}

Deno.test("generate() hidden state at each generated position is bit-equal to proofForward() over the full sequence", async () => {
  // CPU bound: 0 (bit-equal). Both paths run the same per-position code on the same inputs.
  const m = await model();
  const log: Float32Array[] = [];
  const prompts = [PROMPT, PROMPT.slice(0, 5)];
  const outs = await generate(recording(m, log), prompts, SAMPLED, new SeededRandom(7));
  const C = m.hiddenSize;
  for (let b = 0; b < prompts.length; b++) {
    const [full] = await m.proofForward([outs[b].tokens]);
    // log[i] holds hidden states of the position whose logits chose completion token i.
    for (let i = 0; i < outs[b].completionLength; i++) {
      const pos = outs[b].promptLength - 1 + i;
      deepStrictEqual(
        log[i].subarray(b * C, (b + 1) * C),
        full.hidden.subarray(pos * C, (pos + 1) * C),
        `row ${b} position ${pos}`,
      );
    }
  }
});

Deno.test("generate() completionLogprobs are bit-equal to proofForward() next-token log-probs", async () => {
  const m = await model();
  const [out] = await generate(m, [PROMPT], SAMPLED, new SeededRandom(3));
  const [full] = await m.proofForward([out.tokens]);
  deepStrictEqual(out.completionLogprobs, full.nextTokenLogprobs.subarray(out.promptLength - 1));
});

Deno.test("generate() is reproducible from the seed and varies with it", async () => {
  const m = await model();
  const a = await generate(m, [PROMPT], SAMPLED, new SeededRandom(5));
  const b = await generate(m, [PROMPT], SAMPLED, new SeededRandom(5));
  const c = await generate(m, [PROMPT], SAMPLED, new SeededRandom(6));
  deepStrictEqual(a[0].tokens, b[0].tokens);
  notDeepStrictEqual(a[0].tokens, c[0].tokens);
});

Deno.test("generate() stops a row at its EOS id and keeps the EOS token", async () => {
  const m = await model();
  const greedy = { ...SAMPLED, greedy: true };
  const [free] = await generate(m, [PROMPT], greedy, new SeededRandom(0));
  const eos = free.tokens[PROMPT.length + 3];
  const first = free.tokens.indexOf(eos, PROMPT.length);
  const [out] = await generate(m, [PROMPT], { ...greedy, eosTokenIds: [eos] }, new SeededRandom(0));
  strictEqual(out.finishReason, "eos");
  deepStrictEqual(out.tokens, free.tokens.slice(0, first + 1));
});

Deno.test("generate() stops a row at a stop token", async () => {
  const m = await model();
  const greedy = { ...SAMPLED, greedy: true };
  const [free] = await generate(m, [PROMPT], greedy, new SeededRandom(0));
  const stopId = free.tokens[PROMPT.length + 1];
  const [out] = await generate(
    m,
    [PROMPT],
    { ...greedy, stopTokenIds: [stopId] },
    new SeededRandom(0),
  );
  strictEqual(out.finishReason, "stop");
  strictEqual(out.tokens[out.tokens.length - 1], stopId);
});

Deno.test("generate() ends on the token budget with finishReason length", async () => {
  const m = await model();
  const [out] = await generate(m, [PROMPT], { ...SAMPLED, maxNewTokens: 5 }, new SeededRandom(1));
  strictEqual(out.completionLength, 5);
  strictEqual(out.finishReason, "length");
});

Deno.test("generate() uses the config's eos_token_id by default", async () => {
  // Two tiny models with the same seed (same weights) that differ only in eos_token_id: the
  // second names a token the first generates greedily, so it must stop there.
  const dir = await Deno.makeTempDir();
  try {
    const shape = { architecture: "qwen3" as const, seed: 21, vocabSize: 96, hiddenSize: 32 };
    await makeTinyModel(dir, { ...shape, eosTokenId: 95 });
    const base = await loadCpuModel(dir);
    const greedy = { greedy: true, maxNewTokens: 8, eosTokenIds: [] as number[] };
    const [free] = await generate(base, [[1, 2, 3]], greedy, new SeededRandom(0));
    const eos = free.tokens[3 + 2];
    await makeTinyModel(dir, { ...shape, eosTokenId: [eos, 94] });
    const withEos = await loadCpuModel(dir);
    deepStrictEqual(withEos.config.eosTokenIds, [eos, 94]);
    const [out] = await generate(
      withEos,
      [[1, 2, 3]],
      { greedy: true, maxNewTokens: 8 },
      new SeededRandom(0),
    );
    strictEqual(out.finishReason, "eos");
    deepStrictEqual(out.tokens, free.tokens.slice(0, free.tokens.indexOf(eos, 3) + 1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generateGroup() makes 16 completions of one prompt that differ when sampled", async () => {
  const m = await model();
  const outs = await generateGroup(m, PROMPT, SAMPLED, new SeededRandom(9));
  strictEqual(outs.length, GRPO_GROUP_SIZE);
  for (const o of outs) deepStrictEqual(o.tokens.slice(0, o.promptLength), PROMPT);
  const distinct = new Set(outs.map((o) => o.tokens.join()));
  assert(distinct.size > 1);
});

Deno.test("generate() rejects an empty prompt list", async () => {
  await rejects(() => generate({} as Model, [], SAMPLED, new SeededRandom(0)), RangeError);
});
