/**
 * Trainable parameters: every tensor of a decoder checkpoint by its Hugging Face name, held in
 * float64 for the CPU reference (so finite differences and the reference backward are not limited
 * by float32 rounding), with a same-shaped gradient store.
 *
 * @module
 */

import { expectedTensorShapes, openCheckpoint } from "../model/checkpoint.ts";
import type { ModelConfig } from "../model/config.ts";

/** One tensor: its dimensions and row-major values. */
export interface ParamTensor {
  /** Dimensions, as in the checkpoint. */
  shape: number[];
  /** Values, row-major. */
  data: Float64Array;
}

/** Tensors by Hugging Face name, in the checkpoint's canonical order (see `expectedTensorShapes`). */
export type Params = Map<string, ParamTensor>;

/**
 * Zero-filled tensors with the shapes the config implies (the layout of gradients and AdamW
 * moments).
 *
 * @param config The model config.
 * @returns One zero tensor per parameter name.
 *
 * @example
 * ```ts
 * import { zeroParams } from "./params.ts";
 * import { parseModelConfig } from "../model/config.ts";
 * const config = parseModelConfig({ model_type: "llama", hidden_size: 8, intermediate_size: 16,
 *   num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 10 }, "inline");
 * const g = zeroParams(config);
 * if (g.get("model.embed_tokens.weight")?.data.length !== 80) throw new Error();
 * ```
 */
export function zeroParams(config: ModelConfig): Params {
  const out: Params = new Map();
  for (const [name, shape] of expectedTensorShapes(config)) {
    out.set(name, { shape: [...shape], data: new Float64Array(shape.reduce((a, b) => a * b, 1)) });
  }
  return out;
}

/**
 * Reads every tensor of a checkpoint folder, widened to float64.
 *
 * @param dir A Hugging Face checkpoint folder.
 * @returns The config and the parameters.
 * @throws {CheckpointError} As `openCheckpoint` does.
 *
 * @example
 * ```ts
 * import { loadParams } from "./params.ts";
 * import { makeTinyModel } from "../model/tiny.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "qwen3", seed: 1, vocabSize: 32, hiddenSize: 16 });
 * const { params } = await loadParams(dir);
 * await Deno.remove(dir, { recursive: true });
 * if (params.get("model.norm.weight")?.shape[0] !== 16) throw new Error();
 * ```
 */
export async function loadParams(dir: string): Promise<{ config: ModelConfig; params: Params }> {
  const ckpt = await openCheckpoint(dir);
  try {
    const params: Params = new Map();
    for (const [name, shape] of expectedTensorShapes(ckpt.config)) {
      params.set(name, { shape: [...shape], data: Float64Array.from(await ckpt.readF32(name)) });
    }
    return { config: ckpt.config, params };
  } finally {
    ckpt.close();
  }
}

/**
 * A deep copy (the frozen reference model of the KL term starts as a copy of the policy).
 *
 * @param params Tensors to copy.
 * @returns Independent tensors with equal values.
 *
 * @example
 * ```ts
 * import { cloneParams, type Params } from "./params.ts";
 * const p: Params = new Map([["w", { shape: [1], data: new Float64Array([2]) }]]);
 * const q = cloneParams(p);
 * q.get("w")!.data[0] = 3;
 * if (p.get("w")!.data[0] !== 2) throw new Error();
 * ```
 */
export function cloneParams(params: Params): Params {
  const out: Params = new Map();
  for (const [name, t] of params) out.set(name, { shape: [...t.shape], data: t.data.slice() });
  return out;
}

/**
 * The tensor of `name`, or a clear error naming what exists.
 *
 * @param params The store.
 * @param name Hugging Face tensor name.
 * @returns The tensor.
 * @throws {RangeError} When absent.
 *
 * @example
 * ```ts
 * import { param, type Params } from "./params.ts";
 * const p: Params = new Map([["w", { shape: [1], data: new Float64Array([2]) }]]);
 * if (param(p, "w").data[0] !== 2) throw new Error();
 * ```
 */
export function param(params: Params, name: string): ParamTensor {
  const t = params.get(name);
  if (t === undefined) {
    throw new RangeError(
      `Missing parameter ${JSON.stringify(name)} (have ${params.size} tensors, e.g. ${
        [...params.keys()].slice(0, 3).join(", ")
      }); pass parameters made for this model config`,
    );
  }
  return t;
}
