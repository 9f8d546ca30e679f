/**
 * The trainer's side of checkpoints (infra spec §4.6–4.7, §9 "Publishing"): upload a FULL folder
 * or a sparse DELTA with metadata, manifest and marker, then the READY marker, and prune old
 * windows. Data files go up before `metadata.json` and the marker, and consumers only look at a
 * checkpoint once its READY marker exists, so nobody sees half an upload.
 *
 * @module
 */

import { join } from "node:path";
import { PythonFloat } from "../../protocol/python_json.ts";
import { StorageError } from "../errors.ts";
import type { ObjectStore } from "../storage.ts";
import { PublishedCheckpointError } from "./published_checkpoint_error.ts";
import { type DeltaFormat, encodeSparseDelta } from "./delta_codec.ts";
import {
  CHECKPOINT_PREFIX,
  checkpointInventory,
  checkpointPrefix,
  checkpointTypePrefix,
  readyKey,
} from "./layout.ts";
import { computeFolderWeightsHash } from "./local_weights.ts";
import { buildFileManifest, sha256Hex } from "./manifest.ts";
import {
  canonicalMetadataJson,
  type CheckpointMetadata,
  type CheckpointType,
  computeConfigHash,
  type DeltaMetadata,
  type GenerationParams,
  parseDeltaMetadata,
  type PythonJsonValue,
  serializeCheckpointMetadata,
  serializeDeltaMetadata,
} from "./metadata.ts";
import {
  computeRemoteKeepWindows,
  type DeltaLinks,
  type RemoteRetentionOptions,
  WINDOW_LENGTH,
} from "./retention.ts";
import { computeSparseDelta } from "./sparse_delta.ts";
import type { StateDict } from "./state_dict.ts";
import { computeWeightsHash } from "./weights_hash.ts";

/** Metadata fields the trainer supplies (the rest is computed). */
export interface PublishFields {
  /** Trainer settings; wrap Python floats (lr, grad_clip, …) in `PythonFloat`. */
  trainingConfig: Record<string, PythonJsonValue>;
  /** Unix time of the snapshot (from an injected clock). */
  createdAt: number;
  /** Default `"unknown"` (the reference reads `GIT_COMMIT`). */
  gitCommit?: string;
  /** Default `"async_trainer_snapshot"`, the literal of every live upload path. */
  modelName?: string;
  /** Default `max(0, window − 30)`. */
  parentWindow?: number | null;
  /** Environment id (`env_id`). */
  envId: string;
  /** `env_params`, e.g. `{ split, gpu_eval }`. */
  envParams: Record<string, PythonJsonValue>;
  /** Sampling settings miners must use. */
  generationParams: GenerationParams;
  /** Chat-template mode miners and validators must use. */
  thinkingMode: "native" | "instructed";
}

/** Signs the UTF-8 canonical metadata for `manifest.sig`; returns lowercase hex. */
export type SignManifest = (message: Uint8Array) => string | Promise<string>;

/** The reference's trainer defaults, floats marked as Python writes them. */
export const DEFAULT_TRAINING_CONFIG: Readonly<Record<string, PythonJsonValue>> = {
  lr: new PythonFloat(1e-6),
  epochs: 1,
  micro_batch_size: 16,
  max_length: 12288,
  grad_clip: new PythonFloat(0.5),
  warmup_steps: 5,
  kl_coef: new PythonFloat(0.02),
  entropy_coef: new PythonFloat(0.001),
};

function buildMetadata(
  window: number,
  type: CheckpointType,
  manifest: Record<string, string>,
  fields: PublishFields,
  links: { prev: number | null; anchor: number | null },
  weightsHash: string | null,
): CheckpointMetadata {
  return {
    window,
    file_manifest: manifest,
    training_config: fields.trainingConfig,
    git_commit: fields.gitCommit ?? "unknown",
    created_at: fields.createdAt,
    model_name: fields.modelName ?? "async_trainer_snapshot",
    parent_window: fields.parentWindow === undefined
      ? Math.max(0, window - WINDOW_LENGTH)
      : fields.parentWindow,
    checkpoint_type: type,
    prev_window: links.prev,
    anchor_window: links.anchor,
    weights_hash: weightsHash,
    env_id: fields.envId,
    env_params: fields.envParams,
    generation_params: fields.generationParams,
    thinking_mode: fields.thinkingMode,
    config_hash: computeConfigHash(fields.trainingConfig),
  };
}

async function putTail(
  store: ObjectStore,
  prefix: string,
  meta: CheckpointMetadata,
  marker: CheckpointType,
  sign: SignManifest | undefined,
): Promise<void> {
  const text = new TextEncoder();
  await store.put(`${prefix}metadata.json`, text.encode(serializeCheckpointMetadata(meta)));
  if (sign !== undefined) {
    const sig = await sign(text.encode(canonicalMetadataJson(meta)));
    await store.put(`${prefix}manifest.sig`, text.encode(sig));
  }
  await store.put(`${prefix}${marker}`, new Uint8Array());
}

/**
 * Uploads a local Hugging Face folder as the FULL checkpoint of a window (no READY marker yet).
 *
 * @param store The trainer's bucket.
 * @param options `window`, the folder `dir`, metadata `fields`, an optional `sign`er, and
 *   whether to compute `weights_hash` (default true; the reference's background FULL leaves it
 *   null).
 * @returns The metadata written.
 * @throws Storage errors; `PublishedCheckpointError` for a folder without weights when hashing.
 */
export async function publishFullCheckpoint(
  store: ObjectStore,
  options: {
    window: number;
    dir: string;
    fields: PublishFields;
    sign?: SignManifest;
    computeHash?: boolean;
  },
): Promise<CheckpointMetadata> {
  const prefix = checkpointTypePrefix(options.window, "FULL");
  const manifest = await buildFileManifest(options.dir);
  for (const rel of Object.keys(manifest)) {
    await store.put(`${prefix}${rel}`, await Deno.readFile(join(options.dir, rel)));
  }
  const hash = options.computeHash === false ? null : await computeFolderWeightsHash(options.dir);
  const meta = buildMetadata(options.window, "FULL", manifest, options.fields, {
    prev: null,
    anchor: null,
  }, hash);
  await putTail(store, prefix, meta, "FULL", options.sign);
  return meta;
}

/**
 * Uploads the DELTA checkpoint of a window: the sparse delta of `current` against `base` (the
 * weights of `prevWindow`), its `delta_metadata.json`, metadata and marker (no READY yet).
 *
 * @param store The trainer's bucket.
 * @param options Windows (`window`, `prevWindow`, `anchorWindow`), weights, codec (default
 *   v3.1, the reference's code default), metadata `fields`, optional `sign`er.
 * @returns The metadata and delta metadata written.
 * @throws {RangeError} Shapes that differ between `current` and `base`; storage errors.
 */
export async function publishDeltaCheckpoint(
  store: ObjectStore,
  options: {
    window: number;
    prevWindow: number;
    anchorWindow: number;
    current: StateDict;
    base: StateDict;
    format?: DeltaFormat;
    fields: PublishFields;
    sign?: SignManifest;
  },
): Promise<{ metadata: CheckpointMetadata; deltaMetadata: DeltaMetadata }> {
  const format = options.format ?? "sparse_codec_v3.1";
  const delta = computeSparseDelta(options.current, options.base);
  const file = await encodeSparseDelta(delta.tensors, format);
  const deltaMetadata: DeltaMetadata = {
    format,
    threshold: 0,
    prev_window: options.prevWindow,
    anchor_window: options.anchorWindow,
    shapes: Object.fromEntries(delta.tensors.map((t) => [t.name, [...t.shape]])),
    total_params: delta.stats.totalParams,
    nonzero_params: delta.stats.nonzeroParams,
    sparsity_ratio: delta.stats.sparsityRatio,
  };
  const deltaMetaBytes = new TextEncoder().encode(serializeDeltaMetadata(deltaMetadata));
  const prefix = checkpointTypePrefix(options.window, "DELTA");
  await store.put(`${prefix}delta_sparse.bin.zst`, file);
  await store.put(`${prefix}delta_metadata.json`, deltaMetaBytes);
  const manifest = {
    "delta_sparse.bin.zst": sha256Hex(file),
    "delta_metadata.json": sha256Hex(deltaMetaBytes),
  };
  const metadata = buildMetadata(options.window, "DELTA", manifest, options.fields, {
    prev: options.prevWindow,
    anchor: options.anchorWindow,
  }, await computeWeightsHash(options.current));
  await putTail(store, prefix, metadata, "DELTA", options.sign);
  return { metadata, deltaMetadata };
}

/**
 * Writes the zero-byte `READY-{R}` marker that makes a checkpoint visible.
 *
 * @param store The trainer's bucket.
 * @param window Checkpoint window W.
 * @param readyWindow Window of the head block when the upload finished.
 * @returns The marker key.
 */
export async function markCheckpointReady(
  store: ObjectStore,
  window: number,
  readyWindow: number,
): Promise<string> {
  const key = readyKey(window, readyWindow);
  await store.put(key, new Uint8Array());
  return key;
}

/**
 * The trainer's remote cleanup: lists every checkpoint, keeps what
 * {@link computeRemoteKeepWindows} keeps (reading each delta's `delta_metadata.json` for its
 * links; an unreadable one has no links) and deletes every key of the other windows.
 *
 * @param store The trainer's bucket.
 * @param options Retention limits.
 * @returns Deleted windows, newest first (none when the listing or the keep-set is empty).
 */
export async function cleanupRemoteCheckpoints(
  store: ObjectStore,
  options: RemoteRetentionOptions = {},
): Promise<number[]> {
  const keys = (await store.list(CHECKPOINT_PREFIX)).map((o) => o.key);
  const inventory = checkpointInventory(keys);
  const links = new Map<number, DeltaLinks>();
  for (const w of inventory.delta) {
    const key = `${checkpointTypePrefix(w, "DELTA")}delta_metadata.json`;
    try {
      const d = parseDeltaMetadata(new TextDecoder().decode(await store.get(key)), key);
      links.set(w, { anchorWindow: d.anchor_window, prevWindow: d.prev_window });
    } catch (e) {
      // As in the reference, a delta whose links are missing or unreadable falls under the
      // "keep the nearest older FULL" rule; a failing store aborts the cleanup instead.
      const absent = e instanceof StorageError && e.code === "not_found";
      if (!absent && !(e instanceof PublishedCheckpointError)) throw e;
      links.set(w, { anchorWindow: null, prevWindow: null });
    }
  }
  const keep = computeRemoteKeepWindows(inventory, links, options);
  if (keep.size === 0) return [];
  const deleted: number[] = [];
  for (const w of inventory.all) {
    if (keep.has(w)) continue;
    const prefix = checkpointPrefix(w);
    for (const key of keys.filter((k) => k.startsWith(prefix))) await store.delete(key);
    deleted.push(w);
  }
  return deleted;
}
