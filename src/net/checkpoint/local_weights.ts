/**
 * Weights of a local Hugging Face folder as a {@link StateDict}: `model.safetensors`, or shards
 * listed in `model.safetensors.index.json`; written back as one `model.safetensors`.
 *
 * @module
 */

import { join } from "node:path";
import { createXXHash128 } from "hash-wasm";
import {
  readSafetensorsHeader,
  readTensorBytes,
  type SafetensorsEntry,
  writeSafetensors,
} from "../../model/safetensors.ts";
import { sortCodePoints } from "../../protocol/python_json.ts";
import { PublishedCheckpointError } from "./published_checkpoint_error.ts";
import type { StateDict, WeightDtype } from "./state_dict.ts";

/** Single-file weights. */
export const WEIGHTS_FILE = "model.safetensors";
/** Index of sharded weights. */
export const WEIGHTS_INDEX_FILE = "model.safetensors.index.json";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Whether a file name is part of the weights (single file, shard or index).
 *
 * @param name A file name.
 * @returns True for `model.safetensors`, `model-0000k-of-0000N.safetensors` and the index.
 */
export function isWeightsFile(name: string): boolean {
  return name === WEIGHTS_FILE || name === WEIGHTS_INDEX_FILE ||
    /^model-\d+-of-\d+\.safetensors$/.test(name);
}

async function weightFiles(dir: string): Promise<string[]> {
  if (await exists(join(dir, WEIGHTS_FILE))) return [join(dir, WEIGHTS_FILE)];
  if (await exists(join(dir, WEIGHTS_INDEX_FILE))) {
    const index = JSON.parse(await Deno.readTextFile(join(dir, WEIGHTS_INDEX_FILE)));
    const shards = new Set<string>(Object.values(index.weight_map ?? {}) as string[]);
    return [...shards].sort().map((f) => join(dir, f));
  }
  throw new PublishedCheckpointError(
    "not_found",
    `No weights in ${dir}: neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE}`,
  );
}

async function weightEntries(dir: string): Promise<SafetensorsEntry[]> {
  const out: SafetensorsEntry[] = [];
  for (const file of await weightFiles(dir)) {
    for (const e of (await readSafetensorsHeader(file)).entries) {
      if (e.dtype !== "BF16" && e.dtype !== "F16" && e.dtype !== "F32") {
        throw new PublishedCheckpointError(
          "bad_input",
          `Tensor ${e.name} in ${file} is ${e.dtype}; checkpoint weights must be BF16, F16 or F32`,
        );
      }
      out.push(e);
    }
  }
  return out;
}

/**
 * The weights hash of a folder, reading one tensor at a time (a whole model never sits in
 * memory): same value as `computeWeightsHash(await loadStateDict(dir))`.
 *
 * @param dir The folder.
 * @returns 32 hex characters.
 * @throws {PublishedCheckpointError} `not_found` without weights; `bad_input` for a non-float tensor.
 */
export async function computeFolderWeightsHash(dir: string): Promise<string> {
  const entries = new Map((await weightEntries(dir)).map((e) => [e.name, e]));
  const hasher = await createXXHash128();
  hasher.init();
  for (const name of sortCodePoints(entries.keys())) {
    hasher.update(await readTensorBytes(entries.get(name)!));
  }
  return hasher.digest("hex");
}

/**
 * Loads every tensor of a folder's weights into memory, in file order (shards in name order).
 *
 * @param dir The folder.
 * @returns The weights.
 * @throws {PublishedCheckpointError} `not_found` without weights; `bad_input` for a non-float tensor.
 */
export async function loadStateDict(dir: string): Promise<StateDict> {
  const out: StateDict = new Map();
  for (const e of await weightEntries(dir)) {
    out.set(e.name, {
      dtype: e.dtype as WeightDtype,
      shape: e.shape,
      data: await readTensorBytes(e),
    });
  }
  return out;
}

/**
 * Writes weights as one `model.safetensors` (atomically), tensors in map order.
 *
 * @param dir Destination folder (must exist).
 * @param weights The weights.
 * @returns Once the file is in place.
 */
export async function saveStateDict(dir: string, weights: StateDict): Promise<void> {
  await writeSafetensors(
    join(dir, WEIGHTS_FILE),
    [...weights].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data })),
    { format: "pt" },
  );
}
