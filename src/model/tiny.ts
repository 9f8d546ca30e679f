/**
 * A seeded tiny-model maker: writes a Hugging Face checkpoint folder (config.json in the
 * transformers-5 form, or 4.x on request; model.safetensors in bf16 or f32; tokenizer files when
 * given) for any supported architecture. For tests, benchmarks and the local network, e.g. a
 * Qwen3-shaped model with the real Qwen3 vocabulary ({@link QWEN3_VOCAB}).
 *
 * Weights are N(0, 0.08²) and norm weights U(0.6, 1.4), like the shared fixtures, so activations
 * stay O(1) through the layers and log-probs are far from uniform.
 *
 * @module
 */

import { join } from "node:path";
import type { Architecture } from "./config.ts";
import { parseModelConfig } from "./config.ts";
import { expectedTensorShapes } from "./checkpoint.ts";
import {
  f32Bytes,
  f32ToBf16Bytes,
  f32ToF16Bytes,
  type TensorToWrite,
  writeSafetensors,
} from "./safetensors.ts";
import { SeededRandom } from "./seeded_random.ts";
import { writeFileAtomic } from "./_atomic_write.ts";

/** Options of {@link makeTinyModel}; every size has a small default. */
export interface TinyModelOptions {
  /** Decoder family. */
  architecture: Architecture;
  /** Seed of the weights. */
  seed: number;
  /** C (default 64). */
  hiddenSize?: number;
  /** FF (default 3·C). */
  intermediateSize?: number;
  /** L (default 2). */
  numLayers?: number;
  /** NH (default 4). */
  numHeads?: number;
  /** NKV (default 2). */
  numKvHeads?: number;
  /** HS (default C / NH; written to config.json only when it differs). */
  headDim?: number;
  /** V (default 512). */
  vocabSize?: number;
  /** Stored dtype (default BF16, like real checkpoints). */
  dtype?: "BF16" | "F16" | "F32";
  /** Tied lm_head (default: true for qwen3, false otherwise). */
  tieWordEmbeddings?: boolean;
  /** `attention_bias` for llama/qwen3 (default false; qwen2 always has q/k/v bias). */
  attentionBias?: boolean;
  /** RoPE base (default 1e6 for Qwen, 5e5 for Llama). */
  ropeTheta?: number;
  /** Llama-3 RoPE scaling, if any. */
  llama3RopeScaling?: {
    factor: number;
    lowFreqFactor: number;
    highFreqFactor: number;
    originalMaxPositionEmbeddings: number;
  };
  /** max_position_embeddings (default 4096). */
  maxPositionEmbeddings?: number;
  /** bos_token_id (default 1; null to omit). */
  bosTokenId?: number | null;
  /** eos_token_id (default 2); a list is written as a list. */
  eosTokenId?: number | number[];
  /** pad_token_id (default 0; null to omit). */
  padTokenId?: number | null;
  /** config.json form: "5" (`rope_parameters`, `dtype`; default) or "4" (`rope_theta`, `rope_scaling`, `torch_dtype`). */
  configForm?: "4" | "5";
  /** Extra files to write verbatim (e.g. tokenizer.json, tokenizer_config.json), by file name. */
  files?: Record<string, string | Uint8Array>;
}

/** The real Qwen3 vocabulary: embedding rows, and the special ids of Qwen3's config.json. */
export const QWEN3_VOCAB: {
  readonly vocabSize: 151936;
  readonly tokenizerSize: 151669;
  readonly bosTokenId: 151643;
  readonly eosTokenId: 151645;
  readonly padTokenId: 151643;
} = {
  vocabSize: 151936,
  tokenizerSize: 151669,
  bosTokenId: 151643,
  eosTokenId: 151645,
  padTokenId: 151643,
};

const WEIGHT_STD = 0.08;

/**
 * Writes a seeded random checkpoint folder.
 *
 * @param dir Destination folder (created if absent; files inside are replaced atomically).
 * @param options Architecture, seed and sizes.
 * @returns The config.json object written.
 * @throws {RangeError} For sizes that do not fit together (NH not a multiple of NKV, odd HS).
 *
 * @example A Llama with Llama-3 RoPE in the transformers-4 form
 * ```ts
 * import { makeTinyModel } from "./tiny.ts";
 * import { loadModelConfig } from "./config.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, {
 *   architecture: "llama", seed: 3, configForm: "4",
 *   llama3RopeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 },
 * });
 * const config = await loadModelConfig(dir);
 * await Deno.remove(dir, { recursive: true });
 * if (config.ropeScaling?.type !== "llama3") throw new Error();
 * ```
 */
export async function makeTinyModel(
  dir: string,
  options: TinyModelOptions,
): Promise<Record<string, unknown>> {
  const arch = options.architecture;
  const C = options.hiddenSize ?? 64;
  const NH = options.numHeads ?? 4;
  const NKV = options.numKvHeads ?? 2;
  const HS = options.headDim ?? C / NH;
  if (!Number.isInteger(HS) || HS % 2 !== 0) {
    throw new RangeError(`Invalid headDim: got ${HS}, expected an even integer (set headDim)`);
  }
  if (NH % NKV !== 0) {
    throw new RangeError(`Invalid numKvHeads: got ${NKV}, expected a divisor of numHeads ${NH}`);
  }
  const dtype = options.dtype ?? "BF16";
  const form = options.configForm ?? "5";
  const theta = options.ropeTheta ?? (arch === "llama" ? 500000 : 1000000);
  const scaling = options.llama3RopeScaling;
  const ropeFields = scaling === undefined ? {} : {
    rope_type: "llama3",
    factor: scaling.factor,
    low_freq_factor: scaling.lowFreqFactor,
    high_freq_factor: scaling.highFreqFactor,
    original_max_position_embeddings: scaling.originalMaxPositionEmbeddings,
  };
  const dtypeName = { BF16: "bfloat16", F16: "float16", F32: "float32" }[dtype];
  const config: Record<string, unknown> = {
    architectures: [
      { qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM", llama: "LlamaForCausalLM" }[arch],
    ],
    model_type: arch,
    hidden_size: C,
    intermediate_size: options.intermediateSize ?? 3 * C,
    num_hidden_layers: options.numLayers ?? 2,
    num_attention_heads: NH,
    num_key_value_heads: NKV,
    vocab_size: options.vocabSize ?? 512,
    rms_norm_eps: 1e-6,
    max_position_embeddings: options.maxPositionEmbeddings ?? 4096,
    hidden_act: "silu",
    tie_word_embeddings: options.tieWordEmbeddings ?? arch === "qwen3",
    bos_token_id: options.bosTokenId === undefined ? 1 : options.bosTokenId,
    eos_token_id: options.eosTokenId ?? 2,
    pad_token_id: options.padTokenId === undefined ? 0 : options.padTokenId,
  };
  if (arch !== "qwen2") config.attention_bias = options.attentionBias ?? false;
  if (arch === "qwen3" || HS !== C / NH) config.head_dim = HS;
  if (form === "5") {
    config.rope_parameters = { rope_theta: theta, rope_type: "default", ...ropeFields };
    config.dtype = dtypeName;
    config.transformers_version = "5.17.0";
  } else {
    config.rope_theta = theta;
    config.rope_scaling = scaling === undefined ? null : ropeFields;
    config.torch_dtype = dtypeName;
    config.transformers_version = "4.51.0";
  }
  const parsed = parseModelConfig(config, join(dir, "config.json"));

  const rng = new SeededRandom(options.seed);
  const encode = { BF16: f32ToBf16Bytes, F16: f32ToF16Bytes, F32: f32Bytes }[dtype];
  // Each tensor is drawn when the writer reaches it (in this order, so the bytes depend only on
  // the seed): only one tensor is held at a time, so large shapes fit in memory.
  const tensors: TensorToWrite[] = [...expectedTensorShapes(parsed)].map(([name, shape]) => ({
    name,
    dtype,
    shape,
    data: () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(n);
      const isNorm = name.endsWith("norm.weight");
      for (let i = 0; i < n; i++) {
        values[i] = isNorm ? 0.6 + 0.8 * rng.random() : WEIGHT_STD * rng.normal();
      }
      return encode(values);
    },
  }));
  await Deno.mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
  await writeFileAtomic(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  for (const [name, data] of Object.entries(options.files ?? {})) {
    if (name.includes("/") || name.includes("\\") || name === "..") {
      throw new RangeError(`Invalid file name ${JSON.stringify(name)}: expected a bare file name`);
    }
    await writeFileAtomic(join(dir, name), data);
  }
  return config;
}
