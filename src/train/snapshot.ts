/**
 * Trainer state on disk and as published: float64 parameters to a checkpoint state dict in the
 * published dtype (bf16 like the reference's snapshots), float32 master weights and AdamW moments
 * for resuming, and a FULL checkpoint folder (weights + the base model's config and tokenizer
 * files) that miners and validators of both implementations load.
 *
 * @module
 */

import { join } from "node:path";
import {
  f32Bytes,
  f32ToBf16Bytes,
  f32ToF16Bytes,
  readSafetensorsHeader,
  readTensorBytes,
  widenToF32,
  writeSafetensors,
} from "../model/safetensors.ts";
import { saveStateDict } from "../net/checkpoint/local_weights.ts";
import type { StateDict, WeightDtype } from "../net/checkpoint/state_dict.ts";
import type { AdamW } from "./adamw.ts";
import type { Params } from "./params.ts";

/**
 * Casts parameters to a state dict of `dtype` (float64 → float32 → dtype, round to nearest even),
 * in the parameters' order.
 *
 * @param params The parameters.
 * @param dtype Published dtype.
 * @returns The state dict.
 *
 * @example
 * ```ts
 * import { paramsToStateDict } from "./snapshot.ts";
 * const sd = paramsToStateDict(new Map([["w", { shape: [1], data: new Float64Array([1]) }]]), "BF16");
 * if (sd.get("w")!.data.join() !== "128,63") throw new Error(); // 0x3f80
 * ```
 */
export function paramsToStateDict(params: Params, dtype: WeightDtype): StateDict {
  const out: StateDict = new Map();
  for (const [name, t] of params) {
    const f32 = Float32Array.from(t.data);
    const data = dtype === "BF16"
      ? f32ToBf16Bytes(f32)
      : dtype === "F16"
      ? f32ToF16Bytes(f32)
      : f32Bytes(f32);
    out.set(name, { dtype, shape: [...t.shape], data });
  }
  return out;
}

/** Files of a model folder that are not weights (config, generation config, tokenizer, template). */
async function nonWeightFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    if (e.name.endsWith(".safetensors") || e.name === "model.safetensors.index.json") continue;
    if (e.name === "metadata.json" || e.name === "manifest.sig" || e.name === "FULL") continue;
    if (e.name.startsWith(".")) continue;
    out.push(e.name);
  }
  return out.sort();
}

/**
 * Writes a FULL checkpoint folder: `model.safetensors` of `weights` plus every non-weight file
 * of `baseDir` (config.json, generation_config.json, tokenizer files), as `save_pretrained` lays
 * it out.
 *
 * @param dir Destination (created).
 * @param baseDir The model the trainer started from.
 * @param weights Weights to publish.
 * @returns Once written.
 *
 * @example
 * ```ts ignore
 * await writeFullFolder(`${work}/publish/checkpoint-60`, baseDir, paramsToStateDict(p, "BF16"));
 * ```
 */
export async function writeFullFolder(
  dir: string,
  baseDir: string,
  weights: StateDict,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const name of await nonWeightFiles(baseDir)) {
    await Deno.copyFile(join(baseDir, name), join(dir, name));
  }
  await saveStateDict(dir, weights);
}

/**
 * Saves float32 master weights and AdamW moments (`m.{name}`, `v.{name}`) for resuming; the step
 * count goes in the safetensors metadata.
 *
 * @param path Destination file (written atomically).
 * @param params Parameters.
 * @param optimizer Its moments and step.
 * @returns Once written.
 *
 * @example
 * ```ts ignore
 * await saveTrainingState(`${work}/training_state.safetensors`, trainer.params, trainer.optimizer);
 * ```
 */
export async function saveTrainingState(
  path: string,
  params: Params,
  optimizer: AdamW,
): Promise<void> {
  const tensors = [];
  for (const [name, t] of params) {
    tensors.push({
      name: `p.${name}`,
      dtype: "F32" as const,
      shape: t.shape,
      data: () => f32Bytes(t.data),
    });
    const m = optimizer.m.get(name), v = optimizer.v.get(name);
    if (m !== undefined && v !== undefined) {
      tensors.push({
        name: `m.${name}`,
        dtype: "F32" as const,
        shape: t.shape,
        data: () => f32Bytes(m),
      });
      tensors.push({
        name: `v.${name}`,
        dtype: "F32" as const,
        shape: t.shape,
        data: () => f32Bytes(v),
      });
    }
  }
  await writeSafetensors(path, tensors, { step: String(optimizer.stepCount) });
}

/**
 * Restores what {@link saveTrainingState} wrote into `params` and `optimizer`.
 *
 * @param path The file.
 * @param params Overwritten with the master weights (same names and sizes).
 * @param optimizer Its moments and step are replaced.
 * @returns Once restored.
 * @throws {RangeError} When a parameter is missing or sized differently (another model).
 *
 * @example
 * ```ts ignore
 * await loadTrainingState(`${work}/training_state.safetensors`, trainer.params, trainer.optimizer);
 * ```
 */
export async function loadTrainingState(
  path: string,
  params: Params,
  optimizer: AdamW,
): Promise<void> {
  const header = await readSafetensorsHeader(path);
  const byName = new Map(header.entries.map((e) => [e.name, e]));
  const read = async (name: string, n: number): Promise<Float64Array | null> => {
    const e = byName.get(name);
    if (e === undefined) return null;
    const v = widenToF32(await readTensorBytes(e), "F32");
    if (v.length !== n) {
      throw new RangeError(
        `Invalid training state ${path}: ${name} has ${v.length} values, expected ${n}`,
      );
    }
    return Float64Array.from(v);
  };
  for (const [name, t] of params) {
    const p = await read(`p.${name}`, t.data.length);
    if (p === null) {
      throw new RangeError(
        `Invalid training state ${path}: no p.${name}; it belongs to another model`,
      );
    }
    t.data.set(p);
    const m = await read(`m.${name}`, t.data.length), v = await read(`v.${name}`, t.data.length);
    if (m !== null && v !== null) {
      optimizer.m.set(name, m);
      optimizer.v.set(name, v);
    }
  }
  optimizer.stepCount = Number(header.metadata.step ?? 0);
}
