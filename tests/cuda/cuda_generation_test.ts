import { deepStrictEqual, ok as assert, rejects, strictEqual } from "node:assert/strict";
import { openCheckpoint } from "../../src/model/checkpoint.ts";
import { ModelError } from "../../src/model/errors.ts";
import { CudaModel, type CudaModelOptions } from "../../src/cuda/cuda_model.ts";
import { readGolden } from "../model/_golden.ts";
import { cudaTest } from "./_cuda.ts";
import {
  checkGreedyChunksMatchFullRows,
  checkSelectGreedyFeedsArgmax,
  checkSelectMatchesFullRows,
  DECODE_PARAMS,
  sameBits,
} from "../model/_session_contract.ts";

async function load(name: string, options: CudaModelOptions = {}) {
  const golden = await readGolden(name);
  const ckpt = await openCheckpoint(golden.dir);
  try {
    return { golden, model: await CudaModel.load(ckpt, options) };
  } finally {
    ckpt.close();
  }
}

for (const precision of ["bf16", "f32"] as const) {
  for (const [label, params] of DECODE_PARAMS) {
    cudaTest(
      `generate() on CUDA ${precision} picks the same tokens through session.select as through full logits rows: ${label}`,
      async () => {
        const { golden, model } = await load("qwen3-tiny", { precision });
        try {
          await checkSelectMatchesFullRows(model, golden, params);
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
    const { golden, model } = await load("qwen2-tiny");
    try {
      await checkGreedyChunksMatchFullRows(model, golden);
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
      await checkSelectGreedyFeedsArgmax(model, golden);
    } finally {
      model.dispose();
    }
  },
);
