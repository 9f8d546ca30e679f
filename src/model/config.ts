/**
 * Model configuration from a Hugging Face `config.json`: Qwen2, Qwen3 and Llama (Llama-3 scaled
 * RoPE included), in both the transformers 4.x form (top-level `rope_theta`, `rope_scaling`) and
 * the 5.x form (`rope_parameters`).
 *
 * @module
 */

import { join } from "node:path";
import { CheckpointError } from "./errors.ts";
import { readCheckpointJson } from "./_read_json.ts";

/** RoPE frequency scaling (only Llama-3's is supported besides none). */
export interface RopeScaling {
  /** `"llama3"` for Llama-3.1+ scaled RoPE; `"default"` is never produced (null is used). */
  type: "default" | "llama3";
  /** Wavelength stretch of the low frequencies. */
  factor: number;
  /** Llama-3 `low_freq_factor`. */
  lowFreqFactor: number;
  /** Llama-3 `high_freq_factor`. */
  highFreqFactor: number;
  /** Llama-3 `original_max_position_embeddings`. */
  originalMaxPositionEmbeddings: number;
}

/** Supported decoder families (HF `model_type`). */
export type Architecture = "qwen2" | "qwen3" | "llama";

/** Everything the forward needs from `config.json`, with Hugging Face's defaults applied. */
export interface ModelConfig {
  /** HF `model_type`. */
  architecture: Architecture;
  /** C: width of the residual stream. */
  hiddenSize: number;
  /** FF: MLP width. */
  intermediateSize: number;
  /** L: decoder layers. */
  numLayers: number;
  /** NH: query heads. */
  numHeads: number;
  /** NKV: key/value heads (grouped-query attention); defaults to NH. */
  numKvHeads: number;
  /** HS: head size; defaults to C / NH. */
  headDim: number;
  /** V: vocabulary rows of the embedding and lm_head. */
  vocabSize: number;
  /** RMSNorm epsilon. */
  rmsNormEps: number;
  /** RoPE base. */
  ropeTheta: number;
  /** Scaled RoPE, or null for plain RoPE. */
  ropeScaling: RopeScaling | null;
  /** Longest context the checkpoint was configured for. */
  maxPositionEmbeddings: number;
  /** lm_head shares the embedding matrix. */
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (always for qwen2; `attention_bias` otherwise). */
  attentionBias: boolean;
  /** o_proj carries a bias (`attention_bias` for llama/qwen3; never for qwen2). */
  outputBias: boolean;
  /** Per-head RMSNorm of q and k before RoPE (qwen3). */
  qkNorm: boolean;
  /** `bos_token_id`, or null. */
  bosTokenId: number | null;
  /** `eos_token_id` as a list (an int becomes one entry; absent gives []). */
  eosTokenIds: number[];
  /** `pad_token_id`, or null. */
  padTokenId: number | null;
  /** Stored weight dtype (`dtype` in 5.x, `torch_dtype` in 4.x; float32 when absent, as HF). */
  torchDtype: "bfloat16" | "float16" | "float32";
}

const ARCHITECTURES: readonly Architecture[] = ["qwen2", "qwen3", "llama"];
const DTYPES = ["bfloat16", "float16", "float32"] as const;

function fail(source: string, field: string, message: string): never {
  throw new CheckpointError("bad_config", `Invalid ${field} in ${source}: ${message}`);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function positiveInt(obj: Record<string, unknown>, field: string, source: string): number {
  const v = obj[field];
  if (v === undefined || v === null) {
    throw new CheckpointError(
      "bad_config",
      `Missing ${field} in ${source}: expected a positive integer; the checkpoint's config.json must set it`,
    );
  }
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
    fail(source, field, `got ${show(v)}, expected a positive integer`);
  }
  return v;
}

function optionalPositiveInt(
  obj: Record<string, unknown>,
  field: string,
  source: string,
  fallback: number,
): number {
  const v = obj[field];
  return v === undefined || v === null ? fallback : positiveInt(obj, field, source);
}

function positiveNumber(
  obj: Record<string, unknown>,
  field: string,
  source: string,
  fallback?: number,
): number {
  const v = obj[field];
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    fail(source, field, `got ${show(v)}, expected a positive number`);
  }
  return v;
}

function optionalTokenId(obj: Record<string, unknown>, field: string, source: string) {
  const v = obj[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    fail(source, field, `got ${show(v)}, expected a non-negative integer or null`);
  }
  return v;
}

function eosIds(obj: Record<string, unknown>, source: string): number[] {
  const v = obj.eos_token_id;
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
      fail(source, "eos_token_id", `got ${show(v)}, expected an integer or a list of integers`);
    }
  }
  return list as number[];
}

function architectureOf(obj: Record<string, unknown>, source: string): Architecture {
  const type = obj.model_type;
  if (typeof type === "string" && (ARCHITECTURES as readonly string[]).includes(type)) {
    return type as Architecture;
  }
  const archs = Array.isArray(obj.architectures) ? obj.architectures.join(", ") : "none";
  throw new CheckpointError(
    "unsupported",
    `Unsupported architecture in ${source}: model_type ${show(type)} (architectures: ${archs}); ` +
      `expected one of ${ARCHITECTURES.join(", ")}`,
  );
}

function bool(obj: Record<string, unknown>, field: string, source: string, fallback: boolean) {
  const v = obj[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") fail(source, field, `got ${show(v)}, expected true or false`);
  return v;
}

/** Reads RoPE from `rope_parameters` (5.x) or `rope_theta` + `rope_scaling` (4.x). */
function ropeOf(obj: Record<string, unknown>, source: string) {
  const params = obj.rope_parameters;
  let field: string;
  let theta: number;
  let scaling: Record<string, unknown> | null;
  if (params !== undefined && params !== null) {
    if (typeof params !== "object" || Array.isArray(params)) {
      fail(source, "rope_parameters", `got ${show(params)}, expected an object`);
    }
    const p = params as Record<string, unknown>;
    field = "rope_parameters";
    // Transformers 5 keeps rope_theta inside rope_parameters; HF's default base is 10000.
    theta = positiveNumber(p, "rope_theta", `${source} (rope_parameters)`, 10000);
    scaling = p;
  } else {
    field = "rope_scaling";
    theta = positiveNumber(obj, "rope_theta", source, 10000);
    const s = obj.rope_scaling;
    if (s !== undefined && s !== null && (typeof s !== "object" || Array.isArray(s))) {
      fail(source, "rope_scaling", `got ${show(s)}, expected an object or null`);
    }
    scaling = (s ?? null) as Record<string, unknown> | null;
  }
  if (scaling === null) return { theta, scaling: null };
  const type = scaling.rope_type ?? scaling.type ?? "default";
  if (type === "default") return { theta, scaling: null };
  if (type !== "llama3") {
    throw new CheckpointError(
      "unsupported",
      `Unsupported RoPE type in ${source}: ${field}.rope_type ${show(type)}; ` +
        `expected "default" or "llama3"`,
    );
  }
  const where = `${source} (${field})`;
  const result: RopeScaling = {
    type: "llama3",
    factor: positiveNumber(scaling, "factor", where),
    lowFreqFactor: positiveNumber(scaling, "low_freq_factor", where),
    highFreqFactor: positiveNumber(scaling, "high_freq_factor", where),
    originalMaxPositionEmbeddings: positiveInt(scaling, "original_max_position_embeddings", where),
  };
  if (result.highFreqFactor <= result.lowFreqFactor) {
    fail(
      where,
      "high_freq_factor",
      `got ${result.highFreqFactor}, expected more than low_freq_factor ${result.lowFreqFactor}`,
    );
  }
  return { theta, scaling: result };
}

function unsupportedIf(cond: boolean, source: string, what: string): void {
  if (cond) throw new CheckpointError("unsupported", `Unsupported setting in ${source}: ${what}`);
}

/**
 * Parses a Hugging Face `config.json` object.
 *
 * @param json The parsed JSON.
 * @param source Where it came from (a path), named in errors.
 * @returns The config with HF's defaults applied (head_dim = C / NH, NKV = NH, ...).
 * @throws {CheckpointError} `unsupported` for another architecture, activation, sliding window or
 *   RoPE type; `bad_config` for a missing or malformed field.
 *
 * @example A transformers-5 Qwen3 config
 * ```ts
 * import { parseModelConfig } from "./config.ts";
 * const config = parseModelConfig({
 *   model_type: "qwen3", hidden_size: 128, intermediate_size: 384, num_hidden_layers: 3,
 *   num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, vocab_size: 2048,
 *   rms_norm_eps: 1e-6, rope_parameters: { rope_theta: 1e6, rope_type: "default" },
 *   tie_word_embeddings: true, eos_token_id: 2, dtype: "bfloat16",
 * }, "config.json");
 * if (!config.qkNorm || config.headDim !== 32 || config.eosTokenIds[0] !== 2) throw new Error();
 * ```
 */
export function parseModelConfig(json: unknown, source: string): ModelConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CheckpointError(
      "bad_config",
      `Invalid config in ${source}: got ${show(json)}, expected a JSON object`,
    );
  }
  const obj = json as Record<string, unknown>;
  const architecture = architectureOf(obj, source);
  const hiddenSize = positiveInt(obj, "hidden_size", source);
  const numHeads = positiveInt(obj, "num_attention_heads", source);
  const numKvHeads = optionalPositiveInt(obj, "num_key_value_heads", source, numHeads);
  if (numHeads % numKvHeads !== 0) {
    fail(
      source,
      "num_key_value_heads",
      `got ${numKvHeads}, expected a divisor of num_attention_heads ${numHeads}`,
    );
  }
  if (obj.head_dim === undefined && hiddenSize % numHeads !== 0) {
    fail(
      source,
      "head_dim",
      `absent and hidden_size ${hiddenSize} is not a multiple of ${numHeads}`,
    );
  }
  const headDim = optionalPositiveInt(obj, "head_dim", source, hiddenSize / numHeads);
  if (headDim % 2 !== 0) fail(source, "head_dim", `got ${headDim}, expected an even number`);

  const act = obj.hidden_act ?? "silu";
  unsupportedIf(act !== "silu", source, `hidden_act ${show(act)}; expected "silu"`);
  unsupportedIf(
    obj.use_sliding_window === true,
    source,
    "use_sliding_window true; only full attention is supported",
  );
  unsupportedIf(obj.mlp_bias === true, source, "mlp_bias true; MLP projections without bias only");
  const partial = obj.partial_rotary_factor;
  unsupportedIf(
    partial !== undefined && partial !== null && partial !== 1,
    source,
    `partial_rotary_factor ${show(partial)}; expected 1`,
  );

  const bias = bool(obj, "attention_bias", source, false);
  const { theta, scaling } = ropeOf(obj, source);
  const dtype = obj.dtype ?? obj.torch_dtype ?? "float32";
  if (!(DTYPES as readonly unknown[]).includes(dtype)) {
    fail(
      source,
      obj.dtype !== undefined ? "dtype" : "torch_dtype",
      `got ${show(dtype)}, expected one of ${DTYPES.join(", ")}`,
    );
  }
  return {
    architecture,
    hiddenSize,
    intermediateSize: positiveInt(obj, "intermediate_size", source),
    numLayers: positiveInt(obj, "num_hidden_layers", source),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: positiveInt(obj, "vocab_size", source),
    rmsNormEps: positiveNumber(obj, "rms_norm_eps", source, 1e-6),
    ropeTheta: theta,
    ropeScaling: scaling,
    maxPositionEmbeddings: optionalPositiveInt(obj, "max_position_embeddings", source, 32768),
    tieWordEmbeddings: bool(obj, "tie_word_embeddings", source, false),
    // Qwen2 hard-codes bias on q/k/v and none on o_proj; Llama and Qwen3 use attention_bias for all four.
    attentionBias: architecture === "qwen2" ? true : bias,
    outputBias: architecture === "qwen2" ? false : bias,
    qkNorm: architecture === "qwen3",
    bosTokenId: optionalTokenId(obj, "bos_token_id", source),
    eosTokenIds: eosIds(obj, source),
    padTokenId: optionalTokenId(obj, "pad_token_id", source),
    torchDtype: dtype as ModelConfig["torchDtype"],
  };
}

/**
 * Reads and parses `<dir>/config.json`.
 *
 * @param dir A checkpoint folder.
 * @returns The parsed config.
 * @throws {CheckpointError} `not_found` when config.json is absent, `io` when it cannot be read,
 *   `bad_config` for invalid JSON, or any {@link parseModelConfig} error.
 *
 * @example Loading a folder
 * ```ts
 * import { loadModelConfig } from "./config.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({
 *   model_type: "llama", hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1,
 *   num_attention_heads: 4, vocab_size: 100, rope_theta: 500000,
 * }));
 * const config = await loadModelConfig(dir);
 * await Deno.remove(dir, { recursive: true });
 * if (config.headDim !== 16 || config.numKvHeads !== 4) throw new Error();
 * ```
 */
export async function loadModelConfig(dir: string): Promise<ModelConfig> {
  const json = await readCheckpointJson(dir, "config.json", {
    action: "Cannot read checkpoint config",
    fix: "pass the folder holding config.json and the safetensors files",
  });
  return parseModelConfig(json, join(dir, "config.json"));
}
