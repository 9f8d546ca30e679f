/**
 * A Hugging Face checkpoint folder: `config.json` plus `model.safetensors`, or shards listed by
 * `model.safetensors.index.json`. Opening reads only the config and the headers and checks every
 * tensor the forward needs (present, floating dtype, right shape); tensor bytes are read from
 * their file on demand, so the checkpoint is never held whole in memory.
 *
 * @module
 */

import { join } from "node:path";
import { loadModelConfig, type ModelConfig } from "./config.ts";
import { CheckpointError } from "./errors.ts";
import {
  readSafetensorsHeader,
  readTensorBytes,
  type SafetensorsDtype,
  type SafetensorsHeader,
  type TensorInfo,
  widenToF32,
} from "./safetensors.ts";

export type { SafetensorsDtype, TensorInfo } from "./safetensors.ts";

/** An opened checkpoint folder. */
export interface Checkpoint {
  /** The folder. */
  readonly dir: string;
  /** Its parsed config.json. */
  readonly config: ModelConfig;
  /** Every floating tensor by HF name. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** On-disk bytes of one tensor, read from its file now. */
  readRaw(name: string): Promise<Uint8Array>;
  /** One tensor widened to float32. */
  readF32(name: string): Promise<Float32Array>;
  /** Refuses further reads (no file stays open between reads). */
  close(): void;
}

const FLOAT_DTYPES: readonly string[] = ["BF16", "F16", "F32"];
const SINGLE_FILE = "model.safetensors";
const INDEX_FILE = "model.safetensors.index.json";

/**
 * The tensors the forward reads and their shapes, by Hugging Face name.
 *
 * @param config The model config.
 * @returns Name → shape ([out, in] for linear weights); lm_head only when untied.
 *
 * @example A tied Qwen3 has no lm_head but has q/k norms
 * ```ts
 * import { parseModelConfig } from "./config.ts";
 * import { expectedTensorShapes } from "./checkpoint.ts";
 * const config = parseModelConfig({
 *   model_type: "qwen3", hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1,
 *   num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, vocab_size: 10,
 *   tie_word_embeddings: true,
 * }, "config.json");
 * const shapes = expectedTensorShapes(config);
 * if (shapes.has("lm_head.weight")) throw new Error();
 * if (shapes.get("model.layers.0.self_attn.k_proj.weight")?.join() !== "4,8") throw new Error();
 * if (shapes.get("model.layers.0.self_attn.q_norm.weight")?.join() !== "4") throw new Error();
 * ```
 */
export function expectedTensorShapes(config: ModelConfig): Map<string, number[]> {
  const { hiddenSize: C, intermediateSize: FF, numHeads: NH, numKvHeads: NKV, headDim: HS } =
    config;
  const V = config.vocabSize;
  const shapes = new Map<string, number[]>();
  shapes.set("model.embed_tokens.weight", [V, C]);
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    shapes.set(`${p}.input_layernorm.weight`, [C]);
    shapes.set(`${p}.self_attn.q_proj.weight`, [NH * HS, C]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [NKV * HS, C]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [NKV * HS, C]);
    shapes.set(`${p}.self_attn.o_proj.weight`, [C, NH * HS]);
    if (config.attentionBias) {
      shapes.set(`${p}.self_attn.q_proj.bias`, [NH * HS]);
      shapes.set(`${p}.self_attn.k_proj.bias`, [NKV * HS]);
      shapes.set(`${p}.self_attn.v_proj.bias`, [NKV * HS]);
    }
    if (config.outputBias) shapes.set(`${p}.self_attn.o_proj.bias`, [C]);
    if (config.qkNorm) {
      shapes.set(`${p}.self_attn.q_norm.weight`, [HS]);
      shapes.set(`${p}.self_attn.k_norm.weight`, [HS]);
    }
    shapes.set(`${p}.post_attention_layernorm.weight`, [C]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [FF, C]);
    shapes.set(`${p}.mlp.up_proj.weight`, [FF, C]);
    shapes.set(`${p}.mlp.down_proj.weight`, [C, FF]);
  }
  shapes.set("model.norm.weight", [C]);
  if (!config.tieWordEmbeddings) shapes.set("lm_head.weight", [V, C]);
  return shapes;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) return false;
    throw new CheckpointError("io", `Cannot stat ${path}: ${(cause as Error).message}`, { cause });
  }
}

async function listNames(dir: string): Promise<string> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  names.sort();
  const shown = names.slice(0, 10).join(", ");
  return names.length === 0 ? "nothing" : names.length > 10 ? `${shown}, ...` : shown;
}

/** Reads the shard headers named by the index; returns the name → header map of its weight map. */
async function readIndexed(dir: string): Promise<Map<string, SafetensorsHeader>> {
  const path = join(dir, INDEX_FILE);
  let index: unknown;
  try {
    index = JSON.parse(await Deno.readTextFile(path));
  } catch (cause) {
    throw new CheckpointError("bad_header", `Invalid ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  const weightMap = (index as { weight_map?: unknown })?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new CheckpointError(
      "bad_header",
      `Invalid ${path}: weight_map is ${JSON.stringify(weightMap)}, expected {tensor: shard file}`,
    );
  }
  const headers = new Map<string, SafetensorsHeader>();
  const byName = new Map<string, SafetensorsHeader>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (
      typeof shard !== "string" || shard.includes("/") || shard.includes("\\") || shard === ".."
    ) {
      throw new CheckpointError(
        "bad_header",
        `Invalid ${path}: weight_map[${JSON.stringify(name)}] is ${
          JSON.stringify(shard)
        }, expected a file name in the same folder`,
      );
    }
    let header = headers.get(shard);
    if (header === undefined) {
      header = await readSafetensorsHeader(join(dir, shard));
      headers.set(shard, header);
    }
    byName.set(name, header);
  }
  return byName;
}

/**
 * Opens a checkpoint folder: reads config.json and the safetensors header(s) and checks every
 * tensor the forward needs.
 *
 * @param dir The folder (model.safetensors, or shards + model.safetensors.index.json).
 * @returns The checkpoint; tensor bytes are read later, on demand.
 * @throws {CheckpointError} `not_found` (no config or weights), `missing_tensor`, `bad_shape`,
 *   `unknown_dtype` (a needed tensor not BF16/F16/F32), `truncated`, `bad_header`, `bad_config`,
 *   `unsupported`.
 *
 * @example Opening a tiny model
 * ```ts
 * import { openCheckpoint } from "./checkpoint.ts";
 * import { makeTinyModel } from "./tiny.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "qwen3", seed: 1 });
 * const ckpt = await openCheckpoint(dir);
 * const norm = await ckpt.readF32("model.norm.weight");
 * ckpt.close();
 * await Deno.remove(dir, { recursive: true });
 * if (norm.length !== ckpt.config.hiddenSize) throw new Error();
 * ```
 */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const config = await loadModelConfig(dir);
  const tensors = new Map<string, TensorInfo>();
  const add = (name: string, header: SafetensorsHeader) => {
    const e = header.entries.find((x) => x.name === name);
    if (e === undefined) {
      throw new CheckpointError(
        "missing_tensor",
        `Missing tensor ${name} in ${header.file}: the index lists it there but the file's header does not; the shard is stale or the index wrong`,
      );
    }
    if (FLOAT_DTYPES.includes(e.dtype)) {
      tensors.set(name, { ...e, dtype: e.dtype as SafetensorsDtype });
    }
  };
  const unknownDtype = new Map<string, string>();
  const noteDtypes = (header: SafetensorsHeader) => {
    for (const e of header.entries) {
      if (!FLOAT_DTYPES.includes(e.dtype)) unknownDtype.set(e.name, `${e.dtype} in ${e.file}`);
    }
  };
  if (await exists(join(dir, SINGLE_FILE))) {
    const header = await readSafetensorsHeader(join(dir, SINGLE_FILE));
    noteDtypes(header);
    for (const e of header.entries) add(e.name, header);
  } else if (await exists(join(dir, INDEX_FILE))) {
    const byName = await readIndexed(dir);
    for (const header of new Set(byName.values())) noteDtypes(header);
    for (const [name, header] of byName) add(name, header);
  } else {
    throw new CheckpointError(
      "not_found",
      `Cannot read checkpoint weights: neither ${SINGLE_FILE} nor ${INDEX_FILE} in ${dir} ` +
        `(found ${await listNames(dir)}); pass a Hugging Face checkpoint folder`,
    );
  }
  for (const [name, shape] of expectedTensorShapes(config)) {
    const info = tensors.get(name);
    if (info === undefined) {
      const other = unknownDtype.get(name);
      if (other !== undefined) {
        throw new CheckpointError(
          "unknown_dtype",
          `Unsupported dtype for tensor ${name}: ${other}; expected BF16, F16 or F32`,
        );
      }
      throw new CheckpointError(
        "missing_tensor",
        `Missing tensor ${name} in ${dir}: the ${config.architecture} config needs it with shape [${shape}]`,
      );
    }
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(
        "bad_shape",
        `Wrong shape for tensor ${name} in ${info.file}: got [${info.shape}], the config implies [${shape}]`,
      );
    }
  }
  let closed = false;
  const locate = (name: string): TensorInfo => {
    if (closed) throw new CheckpointError("io", `Cannot read ${name}: checkpoint ${dir} is closed`);
    const info = tensors.get(name);
    if (info === undefined) {
      throw new CheckpointError("missing_tensor", `Missing tensor ${name} in checkpoint ${dir}`);
    }
    return info;
  };
  return {
    dir,
    config,
    tensors,
    readRaw: (name) => readTensorBytes(locate(name)),
    readF32: async (name) => {
      const info = locate(name);
      return widenToF32(await readTensorBytes(info), info.dtype);
    },
    close: () => {
      closed = true;
    },
  };
}
