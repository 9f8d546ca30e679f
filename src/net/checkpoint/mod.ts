/**
 * Published checkpoints, exactly as the reference trainer writes them (infra spec §4.6–4.7):
 * FULL folders and sparse DELTA files (codecs v2, v3, v3.1) under `grail/checkpoints/`, READY
 * markers, `metadata.json` with a SHA-256 manifest, the xxh3-128 `weights_hash`, discovery of the
 * checkpoint a window uses, reconstruction from delta chains, and retention. Every hash is
 * checked; a mismatch is a {@link PublishedCheckpointError}.
 *
 * @example Which checkpoint does window 7200 use?
 * ```ts
 * import { findCheckpointForWindow } from "./mod.ts";
 * const keys = ["grail/checkpoints/checkpoint-7170/READY-7199"];
 * if (findCheckpointForWindow(keys, 7200)?.window !== 7170) throw new Error();
 * ```
 *
 * @module
 */

export * from "./published_checkpoint_error.ts";
export * from "./delta_codec.ts";
export * from "./fetch.ts";
export * from "./layout.ts";
export * from "./local_weights.ts";
export * from "./manifest.ts";
export * from "./metadata.ts";
export * from "./publish.ts";
export * from "./retention.ts";
export * from "./sparse_delta.ts";
export * from "./state_dict.ts";
export * from "./weights_hash.ts";
export type { ObjectInfo, ObjectStore } from "../storage.ts";
