import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert/strict";
import { loadModelConfig, parseModelConfig } from "../../src/model/config.ts";
import { CheckpointError } from "../../src/model/errors.ts";
import { SHARED } from "./_golden.ts";

function isCheckpointError(code: string, ...mentions: string[]): (e: unknown) => boolean {
  return (e) =>
    e instanceof CheckpointError && e.code === code && mentions.every((m) => e.message.includes(m));
}

// Published configs (transformers 4.x form), copied from the models' config.json files.
const LLAMA_3_1_8B = {
  architectures: ["LlamaForCausalLM"],
  attention_bias: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  hidden_act: "silu",
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: "llama",
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-05,
  rope_scaling: {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
    rope_type: "llama3",
  },
  rope_theta: 500000.0,
  tie_word_embeddings: false,
  torch_dtype: "bfloat16",
  vocab_size: 128256,
};

const QWEN2_5_0_5B = {
  architectures: ["Qwen2ForCausalLM"],
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: "silu",
  hidden_size: 896,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: "qwen2",
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-06,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  use_sliding_window: false,
  vocab_size: 151936,
};

const QWEN3_4B = {
  architectures: ["Qwen3ForCausalLM"],
  attention_bias: false,
  bos_token_id: 151643,
  eos_token_id: 151645,
  head_dim: 128,
  hidden_act: "silu",
  hidden_size: 2560,
  intermediate_size: 9728,
  max_position_embeddings: 40960,
  model_type: "qwen3",
  num_attention_heads: 32,
  num_hidden_layers: 36,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-06,
  rope_scaling: null,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  vocab_size: 151936,
};

Deno.test("loadModelConfig() reads the transformers-5 qwen3-tiny fixture", async () => {
  const c = await loadModelConfig(`${SHARED}fixtures/qwen3-tiny`);
  deepStrictEqual(c, {
    architecture: "qwen3",
    hiddenSize: 128,
    intermediateSize: 384,
    numLayers: 3,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 32,
    vocabSize: 2048,
    rmsNormEps: 1e-6,
    ropeTheta: 1e6,
    ropeScaling: null,
    maxPositionEmbeddings: 4096,
    tieWordEmbeddings: true,
    attentionBias: false,
    outputBias: false,
    qkNorm: true,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: 0,
    torchDtype: "bfloat16",
  });
});

Deno.test("loadModelConfig() gives qwen2 q/k/v bias but no o_proj bias", async () => {
  const c = await loadModelConfig(`${SHARED}fixtures/qwen2-tiny`);
  strictEqual(c.attentionBias, true);
  strictEqual(c.outputBias, false);
  strictEqual(c.qkNorm, false);
  strictEqual(c.tieWordEmbeddings, false);
});

Deno.test("parseModelConfig() reads Llama-3.1's 4.x rope_scaling and EOS list", () => {
  const c = parseModelConfig(LLAMA_3_1_8B, "llama/config.json");
  deepStrictEqual(c.ropeScaling, {
    type: "llama3",
    factor: 8,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositionEmbeddings: 8192,
  });
  strictEqual(c.ropeTheta, 500000);
  deepStrictEqual(c.eosTokenIds, [128001, 128008, 128009]);
  strictEqual(c.headDim, 128);
  strictEqual(c.numKvHeads, 8);
});

Deno.test("parseModelConfig() reads the same Llama-3.1 config in the 5.x rope_parameters form", () => {
  const { rope_scaling, rope_theta, torch_dtype, ...rest } = LLAMA_3_1_8B;
  const v5 = { ...rest, dtype: torch_dtype, rope_parameters: { ...rope_scaling, rope_theta } };
  deepStrictEqual(parseModelConfig(v5, "v5"), parseModelConfig(LLAMA_3_1_8B, "v4"));
});

Deno.test("parseModelConfig() defaults head_dim to hidden/heads (Qwen2.5-0.5B: 896/14 = 64)", () => {
  const c = parseModelConfig(QWEN2_5_0_5B, "qwen2.5/config.json");
  strictEqual(c.headDim, 64);
  strictEqual(c.tieWordEmbeddings, true);
  deepStrictEqual(c.eosTokenIds, [151643]);
});

Deno.test("parseModelConfig() keeps an explicit head_dim (Qwen3-4B: 128, not 2560/32)", () => {
  const c = parseModelConfig(QWEN3_4B, "qwen3/config.json");
  strictEqual(c.headDim, 128);
  strictEqual(c.ropeScaling, null);
  strictEqual(c.qkNorm, true);
});

Deno.test("parseModelConfig() rejects an unsupported architecture naming it and the file", () => {
  throws(
    () => parseModelConfig({ ...QWEN3_4B, model_type: "mistral" }, "/m/config.json"),
    isCheckpointError("unsupported", "mistral", "/m/config.json"),
  );
});

Deno.test("parseModelConfig() rejects a missing field naming it and the file", () => {
  const { hidden_size: _, ...rest } = QWEN3_4B;
  throws(
    () => parseModelConfig(rest, "/m/config.json"),
    isCheckpointError("bad_config", "hidden_size", "/m/config.json"),
  );
});

Deno.test("parseModelConfig() rejects an unsupported RoPE type", () => {
  const yarn = { ...QWEN2_5_0_5B, rope_scaling: { type: "yarn", factor: 4 } };
  throws(() => parseModelConfig(yarn, "c.json"), isCheckpointError("unsupported", "yarn"));
});

Deno.test("parseModelConfig() rejects KV heads that do not divide the heads", () => {
  throws(
    () => parseModelConfig({ ...QWEN3_4B, num_key_value_heads: 5 }, "c.json"),
    isCheckpointError("bad_config", "num_key_value_heads", "5"),
  );
});

Deno.test("parseModelConfig() rejects sliding-window attention", () => {
  throws(
    () => parseModelConfig({ ...QWEN2_5_0_5B, use_sliding_window: true }, "c.json"),
    isCheckpointError("unsupported", "use_sliding_window"),
  );
});

Deno.test("parseModelConfig() rejects a layer count beyond 2^53", () => {
  throws(
    () => parseModelConfig({ ...QWEN3_4B, num_hidden_layers: 1e300 }, "c.json"),
    isCheckpointError("bad_config", "num_hidden_layers", "1e+300"),
  );
});

Deno.test("parseModelConfig() rejects a non-object", () => {
  throws(() => parseModelConfig([1], "c.json"), isCheckpointError("bad_config", "c.json"));
});

Deno.test("loadModelConfig() says which folder lacks config.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await rejects(() => loadModelConfig(dir), isCheckpointError("not_found", dir, "config.json"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModelConfig() rejects invalid JSON naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/config.json`, "{nope");
    await rejects(
      () => loadModelConfig(dir),
      isCheckpointError("bad_config", `${dir}/config.json`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
