import { deepStrictEqual, ok as assert, rejects, strictEqual } from "node:assert/strict";
import { openCheckpoint } from "../../src/model/checkpoint.ts";
import { ModelError } from "../../src/model/errors.ts";
import { generate, type GenerateOptions } from "../../src/model/generate.ts";
import type { GenerationSession, Model } from "../../src/model/model.ts";
import {
  ENV_LOOP_GENERATION_DEFAULTS,
  PROTOCOL_GENERATION_DEFAULTS,
} from "../../src/model/sampling.ts";
import { SeededRandom } from "../../src/model/seeded_random.ts";
import { CudaModel, type CudaModelOptions } from "../../src/cuda/cuda_model.ts";
import { readGolden } from "../model/_golden.ts";
import { cudaTest } from "./_cuda.ts";

async function load(name: string, options: CudaModelOptions = {}) {
  const golden = await readGolden(name);
  const ckpt = await openCheckpoint(golden.dir);
  try {
    return { golden, model: await CudaModel.load(ckpt, options) };
  } finally {
    ckpt.close();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

/** The same model with its sessions' device selection hidden: generate() takes full rows. */
function fullRowsOnly(model: Model): Model {
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

const DECODE_PARAMS: [string, GenerateOptions][] = [
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

for (const precision of ["bf16", "f32"] as const) {
  for (const [label, params] of DECODE_PARAMS) {
    cudaTest(
      `generate() on CUDA ${precision} picks the same tokens through session.select as through full logits rows: ${label}`,
      async () => {
        // Same model, same seed: only the host's view of the logits differs (candidates vs
        // rows). Tokens must be identical; select's log-probs are bit-equal to the proof
        // forward's (same lm_head algorithm, same kernel), the full-row path's (float64
        // log-softmax of the same f32 logits) within 1e-5 of them.
        const { golden, model } = await load("qwen3-tiny", { precision });
        try {
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
        } finally {
          model.dispose();
        }
      },
    );
  }
}

cudaTest(
  "CudaGenerationSession.select steps are bit-equal to proofForward() and keep the fed tokens' log-probs",
  async () => {
    const { golden, model } = await load("qwen2-tiny");
    try {
      const seq = golden.seqs[1].inputIds;
      const C = model.hiddenSize;
      const [full] = await model.proofForward([seq]);
      const session = model.startGeneration(2, seq.length);
      const select = session.select!;
      const request = { topM: 8, gatherSeen: true };
      const first = await select.prefill([seq.slice(0, 7), seq.slice(0, 4)], request);
      strictEqual(first.logprobs, null);
      const lens = [7, 4];
      for (let i = 0; i < 12; i++) {
        const r = await select.step(lens.map((l) => seq[l]), request);
        const h = await session.lastHidden!();
        for (let b = 0; b < 2; b++) {
          const t = lens[b];
          assert(
            sameBits(h.subarray(b * C, (b + 1) * C), full.hidden.subarray(t * C, (t + 1) * C)),
          );
          // The token fed at t was predicted by position t − 1.
          strictEqual(r.logprobs![b], full.nextTokenLogprobs[t - 1], `row ${b} log-prob at ${t}`);
          deepStrictEqual(r.candidates[b].seenIds, [...new Set(seq.slice(0, t + 1))]);
          lens[b]++;
        }
      }
      const last = await select.logprobs(lens.map((l) => seq[l]));
      lens.forEach((l, b) => strictEqual(last[b], full.nextTokenLogprobs[l - 1]));
      const kept = await select.logits();
      const stepped = await session.step(lens.map((l) => seq[l]));
      strictEqual(kept.length, stepped.length);
      await rejects(select.logits(), (e) => e instanceof ModelError && e.code === "state");
      session.dispose();
    } finally {
      model.dispose();
    }
  },
);

cudaTest(
  "CudaGenerationSession.select.logits() returns the rows plain step() would return",
  async () => {
    const { golden, model } = await load("qwen3-tiny");
    try {
      const seq = golden.seqs[0].inputIds;
      const a = model.startGeneration(2, 16);
      const b = model.startGeneration(2, 16);
      const prompts = [seq.slice(0, 6), seq.slice(0, 3)];
      await a.select!.prefill(prompts, { topM: 4, gatherSeen: false });
      await a.select!.step([seq[6], seq[3]], { topM: 4, gatherSeen: false });
      await b.prefill(prompts);
      const want = await b.step([seq[6], seq[3]]);
      assert(sameBits(await a.select!.logits(), want));
      a.dispose();
      b.dispose();
    } finally {
      model.dispose();
    }
  },
);

cudaTest(
  "generate() greedy on CUDA runs many steps per call and stops rows on EOS as the full-row path does",
  async () => {
    // Greedy without a penalty decodes in chunks of device steps; rows that end mid-chunk keep
    // running on the device and are cut on the host. EOS ids are taken from a first run so that
    // two rows end at different steps of the first chunk.
    const { golden, model } = await load("qwen2-tiny");
    try {
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
    } finally {
      model.dispose();
    }
  },
);

cudaTest(
  "CudaGenerationSession.select.greedy() feeds each step's argmax and logs the fed tokens' log-probs",
  async () => {
    const { golden, model } = await load("qwen3-tiny");
    try {
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
    } finally {
      model.dispose();
    }
  },
);
