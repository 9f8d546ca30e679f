/**
 * The consumer's side of checkpoints (infra spec §4.6): find the checkpoint for a window, fetch
 * metadata, download FULL folders and DELTA files with every SHA-256 checked, rebuild a window's
 * weights from a FULL anchor and its delta chain, and refuse anything whose hashes do not match.
 *
 * Stronger than the reference, on purpose: a FULL download needs `metadata.json` (no unverified
 * "mirror everything" fallback) and checks `weights_hash` when the trainer wrote one; DELTA files
 * must both be in the manifest; every write lands in a temporary folder renamed into place.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { StorageError } from "../errors.ts";
import type { ObjectStore } from "../storage.ts";
import { PublishedCheckpointError } from "./published_checkpoint_error.ts";
import { decodeSparseDelta, type TensorDelta } from "./delta_codec.ts";
import {
  CHECKPOINT_PREFIX,
  checkpointTypePrefix,
  findCheckpointForWindow,
  type ReadyCheckpoint,
} from "./layout.ts";
import {
  computeFolderWeightsHash,
  isWeightsFile,
  loadStateDict,
  saveStateDict,
} from "./local_weights.ts";
import { buildFileManifest, MANIFEST_EXCLUDED, sha256Hex } from "./manifest.ts";
import {
  type CheckpointMetadata,
  type CheckpointType,
  type DeltaMetadata,
  parseCheckpointMetadata,
  parseDeltaMetadata,
  serializeCheckpointMetadata,
} from "./metadata.ts";
import { computeRetentionWindows, isAnchorWindow, type RetentionOptions } from "./retention.ts";
import { applySparseDelta } from "./sparse_delta.ts";
import type { StateDict } from "./state_dict.ts";
import { computeWeightsHash } from "./weights_hash.ts";

/** Longest delta chain followed before giving up (a cycle or a runaway chain). */
export const MAX_DELTA_CHAIN = 1000;

/**
 * Lists the trainer's bucket and picks the checkpoint a window uses.
 *
 * @param store The trainer's bucket (UID 0's read credentials).
 * @param beforeWindow The window being mined (its start) or validated (the target).
 * @returns The checkpoint, or null when none was READY before that window.
 */
export async function findReadyCheckpoint(
  store: ObjectStore,
  beforeWindow: number,
): Promise<ReadyCheckpoint | null> {
  return findCheckpointForWindow(
    (await store.list(CHECKPOINT_PREFIX)).map((o) => o.key),
    beforeWindow,
  );
}

async function getOrNull(store: ObjectStore, key: string): Promise<Uint8Array | null> {
  try {
    return await store.get(key);
  } catch (e) {
    if (e instanceof StorageError && e.code === "not_found") return null;
    throw e;
  }
}

/**
 * Reads a checkpoint's `metadata.json`, trying the two folders in the given order (the reference
 * prefers DELTA for metadata lookups, FULL for cold-start downloads).
 *
 * @param store The trainer's bucket.
 * @param window Checkpoint window.
 * @param order Folders to try, first found wins.
 * @returns The metadata and the folder it came from.
 * @throws {PublishedCheckpointError} `not_found` when neither exists; `bad_metadata` for a bad file or a
 *   `checkpoint_type`/`window` that contradicts where it was found.
 */
export async function fetchCheckpointMetadata(
  store: ObjectStore,
  window: number,
  order: readonly CheckpointType[] = ["DELTA", "FULL"],
): Promise<{ type: CheckpointType; metadata: CheckpointMetadata }> {
  for (const type of order) {
    const key = `${checkpointTypePrefix(window, type)}metadata.json`;
    const bytes = await getOrNull(store, key);
    if (bytes === null) continue;
    const metadata = parseCheckpointMetadata(new TextDecoder().decode(bytes), key);
    if (metadata.checkpoint_type !== type || metadata.window !== window) {
      throw new PublishedCheckpointError(
        "bad_metadata",
        `${key} says ${metadata.checkpoint_type} checkpoint of window ${metadata.window}; ` +
          `expected ${type} of window ${window}`,
      );
    }
    return { type, metadata };
  }
  throw new PublishedCheckpointError(
    "not_found",
    `No metadata.json for checkpoint ${window} (tried ${order.join(", ")})`,
  );
}

async function fetchVerified(
  store: ObjectStore,
  key: string,
  expectedSha256: string,
): Promise<Uint8Array> {
  const bytes = await getOrNull(store, key);
  if (bytes === null) {
    throw new PublishedCheckpointError(
      "not_found",
      `Checkpoint file ${key} is listed in the manifest but absent`,
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== expectedSha256) {
    throw new PublishedCheckpointError(
      "hash_mismatch",
      `SHA-256 of ${key} is ${actual}, the manifest says ${expectedSha256}; refusing the checkpoint`,
    );
  }
  return bytes;
}

async function intoPlace(tmp: string, dest: string): Promise<void> {
  await Deno.remove(dest, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.rename(tmp, dest);
}

async function tempDirBeside(dest: string): Promise<string> {
  await Deno.mkdir(dirname(dest), { recursive: true });
  return await Deno.makeTempDir({
    dir: dirname(dest),
    prefix: `${basename(dest)}.`,
    suffix: ".partial",
  });
}

async function checkWeightsHash(weights: StateDict, expected: string, what: string): Promise<void> {
  checkHash(await computeWeightsHash(weights), expected, what);
}

async function checkFolderWeightsHash(dir: string, expected: string, what: string): Promise<void> {
  checkHash(await computeFolderWeightsHash(dir), expected, what);
}

function checkHash(actual: string, expected: string, what: string): void {
  if (actual !== expected) {
    throw new PublishedCheckpointError(
      "weights_hash_mismatch",
      `Weights hash of ${what} is ${actual}, metadata says ${expected}; refusing the checkpoint`,
    );
  }
}

/**
 * Downloads a FULL checkpoint into `destDir`: every manifest file SHA-256-checked, the weights
 * hash checked when the metadata has one, `metadata.json` written last; the folder appears
 * atomically (temporary folder, then rename).
 *
 * @param store The trainer's bucket.
 * @param window Checkpoint window.
 * @param destDir Destination folder (replaced if present).
 * @param concurrency Files downloaded at once (default 8, as the reference).
 * @returns The metadata.
 * @throws {PublishedCheckpointError} `not_found`, `bad_metadata`, `hash_mismatch`,
 *   `weights_hash_mismatch`.
 */
export async function downloadFullCheckpoint(
  store: ObjectStore,
  window: number,
  destDir: string,
  concurrency = 8,
): Promise<CheckpointMetadata> {
  const { metadata } = await fetchCheckpointMetadata(store, window, ["FULL"]);
  const prefix = checkpointTypePrefix(window, "FULL");
  const tmp = await tempDirBeside(destDir);
  try {
    const files = Object.entries(metadata.file_manifest);
    let next = 0;
    const worker = async () => {
      while (next < files.length && !failed) {
        const [rel, sha] = files[next++];
        const bytes = await fetchVerified(store, `${prefix}${rel}`, sha);
        await Deno.mkdir(dirname(join(tmp, rel)), { recursive: true });
        await Deno.writeFile(join(tmp, rel), bytes);
      }
    };
    // The reference downloads 8 files at a time. Every worker settles before the cleanup below
    // runs, so none writes into a removed folder; the first failure fails the download.
    let failed = false;
    const guarded = async () => {
      try {
        await worker();
      } catch (e) {
        failed = true;
        throw e;
      }
    };
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(concurrency, files.length) }, guarded),
    );
    const rejected = results.find((r) => r.status === "rejected");
    if (rejected !== undefined) throw (rejected as PromiseRejectedResult).reason;
    if (metadata.weights_hash !== null) {
      await checkFolderWeightsHash(tmp, metadata.weights_hash, `checkpoint ${window}`);
    }
    await Deno.writeTextFile(join(tmp, "metadata.json"), serializeCheckpointMetadata(metadata));
    await intoPlace(tmp, destDir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => undefined);
    throw e;
  }
  return metadata;
}

/** A downloaded, verified and decoded DELTA checkpoint. */
export interface DeltaCheckpoint {
  /** Its `metadata.json`. */
  metadata: CheckpointMetadata;
  /** Its `delta_metadata.json`. */
  deltaMetadata: DeltaMetadata;
  /** The changed tensors, decoded. */
  tensors: TensorDelta[];
}

/**
 * Downloads a DELTA checkpoint: both files must be in the manifest and match it; the delta is
 * decoded with the codec `delta_metadata.json` names, and its links must agree with
 * `metadata.json`.
 *
 * @param store The trainer's bucket.
 * @param window Checkpoint window.
 * @returns Metadata, delta metadata and the changed tensors.
 * @throws {PublishedCheckpointError} `not_found`, `bad_manifest`, `hash_mismatch`, `bad_metadata`,
 *   `unsupported_format`, `bad_delta`.
 */
export async function downloadDeltaCheckpoint(
  store: ObjectStore,
  window: number,
): Promise<DeltaCheckpoint> {
  const { metadata } = await fetchCheckpointMetadata(store, window, ["DELTA"]);
  const prefix = checkpointTypePrefix(window, "DELTA");
  const sha = (name: string) => {
    const v = metadata.file_manifest[name];
    if (v === undefined) {
      throw new PublishedCheckpointError(
        "bad_manifest",
        `Manifest of DELTA checkpoint ${window} does not cover ${name}; refusing unverifiable data`,
      );
    }
    return v;
  };
  const metaKey = `${prefix}delta_metadata.json`;
  const deltaMetadata = parseDeltaMetadata(
    new TextDecoder().decode(await fetchVerified(store, metaKey, sha("delta_metadata.json"))),
    metaKey,
  );
  if (
    deltaMetadata.prev_window !== metadata.prev_window ||
    deltaMetadata.anchor_window !== metadata.anchor_window
  ) {
    throw new PublishedCheckpointError(
      "bad_metadata",
      `Checkpoint ${window}: delta_metadata.json links prev ${deltaMetadata.prev_window}/anchor ` +
        `${deltaMetadata.anchor_window}, metadata.json ${metadata.prev_window}/${metadata.anchor_window}`,
    );
  }
  const file = await fetchVerified(
    store,
    `${prefix}delta_sparse.bin.zst`,
    sha("delta_sparse.bin.zst"),
  );
  return { metadata, deltaMetadata, tensors: decodeSparseDelta(file, deltaMetadata.format) };
}

/**
 * The fast path of a running miner or validator: when checkpoint `window` is a DELTA whose
 * `prev_window` is the checkpoint already in memory, apply it there and check `weights_hash`.
 *
 * @param store The trainer's bucket.
 * @param window The new checkpoint's window.
 * @param loaded The checkpoint in memory: its window and weights (not modified).
 * @returns The new weights and metadata, or null when the fast path does not apply (FULL, or a
 *   DELTA against another window); then use {@link reconstructCheckpoint}.
 * @throws {PublishedCheckpointError} Any download error, or `weights_hash_mismatch`.
 */
export async function applyDeltaInMemory(
  store: ObjectStore,
  window: number,
  loaded: { window: number; weights: StateDict },
): Promise<{ weights: StateDict; metadata: CheckpointMetadata } | null> {
  const { type, metadata } = await fetchCheckpointMetadata(store, window, ["DELTA", "FULL"]);
  if (type !== "DELTA" || metadata.prev_window !== loaded.window) return null;
  const delta = await downloadDeltaCheckpoint(store, window);
  const weights = applySparseDelta(loaded.weights, delta.tensors);
  if (metadata.weights_hash === null) {
    throw new PublishedCheckpointError(
      "bad_metadata",
      `DELTA checkpoint ${window} has no weights_hash; its result cannot be verified`,
    );
  }
  await checkWeightsHash(weights, metadata.weights_hash, `checkpoint ${window}`);
  return { weights, metadata };
}

/** Options of {@link reconstructCheckpoint}. */
export interface ReconstructOptions {
  /**
   * Local cache root holding `checkpoint-{W}` folders (the reference's
   * `~/.cache/grail/checkpoints`); reconstructed and downloaded checkpoints are stored there.
   */
  cacheRoot: string;
}

/** Where a reconstructed or downloaded checkpoint lies. */
export interface LocalCheckpoint {
  /** The folder (`{cacheRoot}/checkpoint-{W}`). */
  dir: string;
  /** Its metadata.json as written there. */
  metadata: CheckpointMetadata;
}

/**
 * A cached `checkpoint-{W}` folder whose manifest verifies, or null.
 *
 * @param cacheRoot Cache root.
 * @param window Checkpoint window.
 * @returns The folder and metadata, or null when absent or not matching its manifest.
 */
export async function verifiedCachedCheckpoint(
  cacheRoot: string,
  window: number,
): Promise<LocalCheckpoint | null> {
  const dir = join(cacheRoot, `checkpoint-${window}`);
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, "metadata.json"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const metadata = parseCheckpointMetadata(text, join(dir, "metadata.json"));
  const actual = await buildFileManifest(dir);
  const expected = metadata.file_manifest;
  const same = Object.keys(actual).length === Object.keys(expected).length &&
    Object.entries(expected).every(([k, v]) => actual[k] === v);
  return same && metadata.window === window ? { dir, metadata } : null;
}

/**
 * Makes the weights of checkpoint `window` available locally, as the reference's slow path:
 * walk `prev_window` links back from `window` until a verified cached folder or a FULL
 * checkpoint (FULL preferred at anchor windows), download that base, apply the deltas oldest to
 * newest, and check the final `weights_hash`. The result is written as a FULL-style folder
 * (`model.safetensors`, the base's config and tokenizer files, a regenerated `metadata.json` with
 * `checkpoint_type: "FULL"`, `reconstructed_from_delta: true`, `original_anchor_window` and a
 * fresh manifest).
 *
 * @param store The trainer's bucket.
 * @param window Checkpoint window wanted.
 * @param options Cache root.
 * @returns The local folder and its metadata.
 * @throws {PublishedCheckpointError} `chain_broken` (cycle, missing link, chain too long),
 *   `weights_hash_mismatch`, and any download error.
 */
export async function reconstructCheckpoint(
  store: ObjectStore,
  window: number,
  options: ReconstructOptions,
): Promise<LocalCheckpoint> {
  const cached = await verifiedCachedCheckpoint(options.cacheRoot, window);
  if (cached !== null) return cached;
  const chain: DeltaCheckpoint[] = [];
  const seen = new Set<number>();
  let w = window;
  let base: LocalCheckpoint | null = null;
  while (base === null) {
    if (seen.has(w) || chain.length > MAX_DELTA_CHAIN) {
      throw new PublishedCheckpointError(
        "chain_broken",
        `Delta chain of checkpoint ${window} loops or exceeds ${MAX_DELTA_CHAIN} links at ${w}`,
      );
    }
    seen.add(w);
    if (w !== window) base = await verifiedCachedCheckpoint(options.cacheRoot, w);
    if (base !== null) break;
    const order: CheckpointType[] = isAnchorWindow(w) ? ["FULL", "DELTA"] : ["DELTA", "FULL"];
    let found;
    try {
      found = await fetchCheckpointMetadata(store, w, order);
    } catch (e) {
      if (e instanceof PublishedCheckpointError && e.code === "not_found" && w !== window) {
        throw new PublishedCheckpointError(
          "chain_broken",
          `Delta chain of checkpoint ${window} needs checkpoint ${w}, which is gone`,
          { cause: e },
        );
      }
      throw e;
    }
    if (found.type === "FULL") {
      const dir = join(options.cacheRoot, `checkpoint-${w}`);
      base = { dir, metadata: await downloadFullCheckpoint(store, w, dir) };
      break;
    }
    const delta = await downloadDeltaCheckpoint(store, w);
    chain.push(delta);
    if (delta.metadata.prev_window === null) {
      throw new PublishedCheckpointError(
        "chain_broken",
        `DELTA checkpoint ${w} has no prev_window`,
      );
    }
    w = delta.metadata.prev_window;
  }
  if (chain.length === 0) return base;
  let weights = await loadStateDict(base.dir);
  for (const delta of chain.reverse()) weights = applySparseDelta(weights, delta.tensors);
  const target = chain[chain.length - 1].metadata;
  if (target.weights_hash === null) {
    throw new PublishedCheckpointError(
      "bad_metadata",
      `DELTA checkpoint ${window} has no weights_hash; a rebuilt checkpoint cannot be verified`,
    );
  }
  await checkWeightsHash(weights, target.weights_hash, `rebuilt checkpoint ${window}`);
  return await writeReconstructed(options.cacheRoot, target, base, weights);
}

async function writeReconstructed(
  cacheRoot: string,
  target: CheckpointMetadata,
  base: LocalCheckpoint,
  weights: StateDict,
): Promise<LocalCheckpoint> {
  const dest = join(cacheRoot, `checkpoint-${target.window}`);
  const tmp = await tempDirBeside(dest);
  try {
    for await (const e of Deno.readDir(base.dir)) {
      if (!e.isFile || isWeightsFile(e.name) || MANIFEST_EXCLUDED.has(e.name)) continue;
      if (e.name.startsWith("READY")) continue;
      await Deno.copyFile(join(base.dir, e.name), join(tmp, e.name));
    }
    await saveStateDict(tmp, weights);
    const metadata: CheckpointMetadata = {
      ...target,
      checkpoint_type: "FULL",
      file_manifest: await buildFileManifest(tmp),
      extra: {
        ...(target.extra ?? {}),
        reconstructed_from_delta: true,
        original_anchor_window: target.anchor_window,
      },
    };
    await Deno.writeTextFile(join(tmp, "metadata.json"), serializeCheckpointMetadata(metadata));
    await intoPlace(tmp, dest);
    return { dir: dest, metadata };
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => undefined);
    throw e;
  }
}

/**
 * Prunes a local checkpoint cache with the shared retention policy: removes `checkpoint-{W}`
 * folders outside {@link computeRetentionWindows}(current) and leftover `.partial` folders older
 * than `maxPartialAgeMs` (an interrupted download; ours carry no PID, so age decides).
 *
 * @param cacheRoot Cache root.
 * @param currentWindow The current window.
 * @param options `now` (injected clock, ms since epoch), `maxPartialAgeMs` (default 1 h),
 *   retention options.
 * @returns Names of the removed entries, sorted.
 */
export async function pruneCheckpointCache(
  cacheRoot: string,
  currentWindow: number,
  options: RetentionOptions & { now: number; maxPartialAgeMs?: number },
): Promise<string[]> {
  const keep = computeRetentionWindows(currentWindow, options);
  const maxAge = options.maxPartialAgeMs ?? 3_600_000;
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(cacheRoot));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return removed;
    throw e;
  }
  for (const e of entries) {
    if (!e.isDirectory) continue;
    const path = join(cacheRoot, e.name);
    const full = /^checkpoint-(\d+)$/.exec(e.name);
    let remove = false;
    if (full !== null) remove = !keep.has(Number(full[1]));
    else if (e.name.endsWith(".partial")) {
      const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
      remove = options.now - mtime > maxAge;
    }
    if (remove) {
      await Deno.remove(path, { recursive: true });
      removed.push(e.name);
    }
  }
  return removed.sort();
}
