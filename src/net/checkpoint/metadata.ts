/**
 * Checkpoint `metadata.json` and `delta_metadata.json` (infra spec §4.6): parsing with checks,
 * writing with the reference's exact text (Python `json.dumps(indent=2, ensure_ascii=False)`,
 * keys in the dataclass order), `config_hash`, and the canonical text `manifest.sig` signs.
 *
 * Python floats stay floats: reading keeps, inside `training_config`, every number written with a
 * `.` or an exponent as a {@link PythonFloat}, so `config_hash` and a rewritten file come out the same.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  PythonFloat,
  pythonJsonDumps,
  pythonJsonLoads,
  type PythonJsonValue,
} from "../../protocol/python_json.ts";
import { PublishedCheckpointError } from "./published_checkpoint_error.ts";
import type { DeltaFormat } from "./delta_codec.ts";

export { PythonFloat, type PythonJsonValue } from "../../protocol/python_json.ts";

/**
 * The former name of {@linkcode PythonFloat}.
 *
 * @deprecated Use {@linkcode PythonFloat}; kept while src/roles/trainer.ts imports this name.
 */
export const PyFloat: typeof PythonFloat = PythonFloat;
/**
 * The former name of {@linkcode PythonFloat}.
 *
 * @deprecated Use {@linkcode PythonFloat}.
 */
export type PyFloat = PythonFloat;

/** FULL or DELTA. */
export type CheckpointType = "FULL" | "DELTA";

/** `generation_params`: the five keys miners need (values as the trainer wrote them). */
export interface GenerationParams {
  /** Completion budget (> 0; miners cap it at 8192). */
  max_tokens: number;
  /** Sampling temperature, in [0.01, 2]. */
  temperature: number;
  /** Nucleus mass, in [0, 1]. */
  top_p: number;
  /** Top-k, in [0, 1000] (0 = off). */
  top_k: number;
  /** Repetition penalty, in [1, 2]. */
  repetition_penalty: number;
  /** Further keys, kept. */
  [key: string]: number;
}

/** `metadata.json`, keys in the reference's order (snake_case as on the wire). */
export interface CheckpointMetadata {
  /** Checkpoint window W. */
  window: number;
  /** Relative path → SHA-256 hex of every covered file. */
  file_manifest: Record<string, string>;
  /** Trainer settings; Python floats as {@link PythonFloat}. */
  training_config: Record<string, PythonJsonValue>;
  /** `GIT_COMMIT` of the trainer, or `"unknown"`. */
  git_commit: string;
  /** Unix time (a Python float). */
  created_at: number;
  /** Model name miners put in `commit.model.name`. */
  model_name: string;
  /** Training window the snapshot came from. */
  parent_window: number | null;
  /** FULL or DELTA. */
  checkpoint_type: CheckpointType;
  /** DELTA: the immediate predecessor (null for FULL). */
  prev_window: number | null;
  /** DELTA: the FULL checkpoint the chain starts from (null for FULL). */
  anchor_window: number | null;
  /** xxh3-128 hex of the final weights (null on a background FULL). */
  weights_hash: string | null;
  /** Environment id. */
  env_id: string | null;
  /** Environment parameters (`split`, `gpu_eval`). */
  env_params: Record<string, PythonJsonValue>;
  /** Sampling settings (empty when absent). */
  generation_params: GenerationParams | Record<string, never>;
  /** `"native"` or `"instructed"`. */
  thinking_mode: string | null;
  /** SHA-256 of Python `json.dumps(training_config, sort_keys=True)`. */
  config_hash: string;
  /** Keys after `config_hash` (e.g. `reconstructed_from_delta`), kept in order. */
  extra?: Record<string, PythonJsonValue>;
}

/** `delta_metadata.json`, keys in the reference's order. */
export interface DeltaMetadata {
  /** Codec of `delta_sparse.bin.zst`. */
  format: DeltaFormat;
  /** Change threshold (0: every change). */
  threshold: number;
  /** The checkpoint this delta applies to. */
  prev_window: number;
  /** The FULL checkpoint the chain starts from. */
  anchor_window: number;
  /** Shapes of the changed tensors. */
  shapes: Record<string, number[]>;
  /** Elements compared. */
  total_params: number;
  /** Elements changed. */
  nonzero_params: number;
  /** `1 − nonzero/total`. */
  sparsity_ratio: number;
}

const KEY_ORDER = [
  "window",
  "file_manifest",
  "training_config",
  "git_commit",
  "created_at",
  "model_name",
  "parent_window",
  "checkpoint_type",
  "prev_window",
  "anchor_window",
  "weights_hash",
  "env_id",
  "env_params",
  "generation_params",
  "thinking_mode",
  "config_hash",
] as const;

/** Generation keys the reference writes as floats. */
const FLOAT_GENERATION_KEYS = new Set(["temperature", "top_p", "repetition_penalty"]);
const GENERATION_KEYS = ["max_tokens", "temperature", "top_p", "top_k", "repetition_penalty"];
const SHA256_HEX = /^[0-9a-f]{64}$/;
const XXH128_HEX = /^[0-9a-f]{32}$/;

function fail(source: string, message: string): PublishedCheckpointError {
  return new PublishedCheckpointError("bad_metadata", `Invalid ${source}: ${message}`);
}

// Python's types survive: float literals as PythonFloat, integers beyond 2^53 as bigints.
function parsePythonJson(text: string, source: string): unknown {
  try {
    return pythonJsonLoads(text, { keepFloats: true });
  } catch (cause) {
    throw new PublishedCheckpointError("bad_metadata", `Invalid ${source}: not JSON (${cause})`, {
      cause,
    });
  }
}

// For checks and messages only: floats unwrapped, big integers rounded to numbers.
function plain(v: unknown): unknown {
  if (v instanceof PythonFloat) return v.value;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof PythonFloat);
}

function intOrNull(v: unknown, key: string, source: string): number | null {
  if (v === null || v === undefined) return null;
  if (!Number.isSafeInteger(v)) throw fail(source, `${key} = ${JSON.stringify(plain(v))}`);
  return v as number;
}

function stringOrNull(v: unknown, key: string, source: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "string") throw fail(source, `${key} = ${JSON.stringify(plain(v))}`);
  return v;
}

/**
 * Parses a `metadata.json` text, checking every field's type (the reference checks only the
 * mining fields, see {@link metadataProblems}).
 *
 * @param text The file's text.
 * @param source File or key, for messages.
 * @returns The metadata.
 * @throws {PublishedCheckpointError} `bad_metadata` naming the field and value.
 *
 * @example
 * ```ts
 * import { parseCheckpointMetadata } from "./metadata.ts";
 * const m = parseCheckpointMetadata('{"window": 300, "file_manifest": {}}', "metadata.json");
 * if (m.window !== 300 || m.checkpoint_type !== "FULL") throw new Error();
 * ```
 */
export function parseCheckpointMetadata(text: string, source: string): CheckpointMetadata {
  const raw = parsePythonJson(text, source);
  if (!isObject(raw)) throw fail(source, "top level is not an object");
  const window = raw.window;
  if (!Number.isSafeInteger(window) || (window as number) < 0) {
    throw fail(source, `window = ${JSON.stringify(plain(window))}, expected a block number`);
  }
  const manifest = raw.file_manifest;
  if (!isObject(manifest)) throw fail(source, "file_manifest is not an object");
  for (const [path, hex] of Object.entries(manifest)) {
    if (typeof hex !== "string" || !SHA256_HEX.test(hex)) {
      throw fail(
        source,
        `file_manifest[${JSON.stringify(path)}] = ${
          JSON.stringify(plain(hex))
        }, expected SHA-256 hex`,
      );
    }
    checkRelativePath(path, source);
  }
  const type = raw.checkpoint_type ?? "FULL";
  if (type !== "FULL" && type !== "DELTA") {
    throw fail(source, `checkpoint_type = ${JSON.stringify(type)}, expected FULL or DELTA`);
  }
  const weightsHash = stringOrNull(raw.weights_hash, "weights_hash", source);
  if (weightsHash !== null && !XXH128_HEX.test(weightsHash)) {
    throw fail(source, `weights_hash = ${JSON.stringify(weightsHash)}, expected 32 hex characters`);
  }
  const objectField = (key: string): Record<string, PythonJsonValue> => {
    const v = raw[key] ?? {};
    if (!isObject(v)) throw fail(source, `${key} is not an object`);
    return v as Record<string, PythonJsonValue>;
  };
  const generation = objectField("generation_params");
  for (const [k, v] of Object.entries(generation)) {
    const n = plain(v);
    if (typeof n !== "number") throw fail(source, `generation_params.${k} = ${JSON.stringify(n)}`);
  }
  const createdAt = plain(raw.created_at ?? 0);
  if (typeof createdAt !== "number") {
    throw fail(source, `created_at = ${JSON.stringify(createdAt)}`);
  }
  const extra: Record<string, PythonJsonValue> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(KEY_ORDER as readonly string[]).includes(k)) extra[k] = v as PythonJsonValue;
  }
  const meta: CheckpointMetadata = {
    window: window as number,
    file_manifest: manifest as Record<string, string>,
    training_config: objectField("training_config"),
    git_commit: stringOrNull(raw.git_commit, "git_commit", source) ?? "unknown",
    created_at: createdAt,
    model_name: stringOrNull(raw.model_name, "model_name", source) ?? "no_name",
    parent_window: intOrNull(raw.parent_window, "parent_window", source),
    checkpoint_type: type,
    prev_window: intOrNull(raw.prev_window, "prev_window", source),
    anchor_window: intOrNull(raw.anchor_window, "anchor_window", source),
    weights_hash: weightsHash,
    env_id: stringOrNull(raw.env_id, "env_id", source),
    env_params: objectField("env_params"),
    generation_params: plain(generation) as GenerationParams,
    thinking_mode: stringOrNull(raw.thinking_mode, "thinking_mode", source),
    config_hash: stringOrNull(raw.config_hash, "config_hash", source) ?? "",
  };
  if (Object.keys(extra).length > 0) meta.extra = extra;
  return meta;
}

function checkRelativePath(path: string, source: string): void {
  const parts = path.split("/");
  if (
    path === "" || path.startsWith("/") || parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw fail(source, `file_manifest path ${JSON.stringify(path)} is not a plain relative path`);
  }
}

/**
 * The reference's `validate_metadata`: what a miner or validator needs before using a
 * checkpoint.
 *
 * @param meta Parsed metadata.
 * @returns Names of missing or invalid fields; empty when usable.
 *
 * @example
 * ```ts
 * import { metadataProblems, parseCheckpointMetadata } from "./metadata.ts";
 * const m = parseCheckpointMetadata('{"window": 30, "file_manifest": {}}', "m");
 * if (metadataProblems(m).join() !== "env_id,thinking_mode,generation_params") throw new Error();
 * ```
 */
export function metadataProblems(meta: CheckpointMetadata): string[] {
  const problems: string[] = [];
  if (!meta.env_id) problems.push("env_id");
  if (!meta.thinking_mode) problems.push("thinking_mode");
  else if (meta.thinking_mode !== "native" && meta.thinking_mode !== "instructed") {
    problems.push(`thinking_mode (invalid value '${meta.thinking_mode}')`);
  }
  if (Object.keys(meta.generation_params).length === 0) problems.push("generation_params");
  else {
    for (const k of GENERATION_KEYS) {
      if (!(k in meta.generation_params)) problems.push(`generation_params.${k}`);
    }
  }
  return problems;
}

function pyMetadataDict(meta: CheckpointMetadata): Record<string, PythonJsonValue> {
  const generation: Record<string, PythonJsonValue> = {};
  for (const [k, v] of Object.entries(meta.generation_params)) {
    generation[k] = FLOAT_GENERATION_KEYS.has(k) ? new PythonFloat(v as number) : v as number;
  }
  return {
    window: meta.window,
    file_manifest: meta.file_manifest,
    training_config: meta.training_config,
    git_commit: meta.git_commit,
    created_at: new PythonFloat(meta.created_at),
    model_name: meta.model_name,
    parent_window: meta.parent_window,
    checkpoint_type: meta.checkpoint_type,
    prev_window: meta.prev_window,
    anchor_window: meta.anchor_window,
    weights_hash: meta.weights_hash,
    env_id: meta.env_id,
    env_params: meta.env_params,
    generation_params: generation,
    thinking_mode: meta.thinking_mode,
    config_hash: meta.config_hash,
    ...(meta.extra ?? {}),
  };
}

/**
 * Writes `metadata.json` text exactly as the reference (`json.dumps(metadata_dict,
 * ensure_ascii=False, indent=2)`).
 *
 * @param meta The metadata (its `config_hash` is written as given).
 * @returns The text.
 */
export function serializeCheckpointMetadata(meta: CheckpointMetadata): string {
  return pythonJsonDumps(pyMetadataDict(meta), { indent: 2, ensureAscii: false });
}

/**
 * The text `manifest.sig` signs: compact, key-sorted JSON of the metadata dict (UTF-8). No
 * consumer of the reference verifies it; ours can.
 *
 * @param meta The metadata, `config_hash` included.
 * @returns `json.dumps(metadata_dict, sort_keys=True, separators=(",", ":"))`.
 */
export function canonicalMetadataJson(meta: CheckpointMetadata): string {
  return pythonJsonDumps(pyMetadataDict(meta), { sortKeys: true, separators: [",", ":"] });
}

/**
 * `config_hash`: SHA-256 hex of Python `json.dumps(training_config, sort_keys=True)`.
 *
 * @param trainingConfig Settings; Python floats as {@link PythonFloat}.
 * @returns 64 hex characters.
 *
 * @example
 * ```ts
 * import { computeConfigHash, PythonFloat } from "./metadata.ts";
 * const h = computeConfigHash({ lr: new PythonFloat(1e-6), epochs: 1 });
 * if (h.length !== 64) throw new Error();
 * ```
 */
export function computeConfigHash(trainingConfig: Record<string, PythonJsonValue>): string {
  return bytesToHex(sha256(new TextEncoder().encode(
    pythonJsonDumps(trainingConfig, { sortKeys: true }),
  )));
}

const DELTA_FORMATS: readonly string[] = [
  "sparse_codec_v2",
  "sparse_codec_v3",
  "sparse_codec_v3.1",
];

/**
 * Parses `delta_metadata.json`.
 *
 * @param text The file's text.
 * @param source File or key, for messages.
 * @returns The delta metadata.
 * @throws {PublishedCheckpointError} `unsupported_format` for an unknown codec, `bad_metadata` otherwise.
 */
export function parseDeltaMetadata(text: string, source: string): DeltaMetadata {
  const raw = plain(parsePythonJson(text, source));
  if (!isObject(raw)) throw fail(source, "top level is not an object");
  if (!DELTA_FORMATS.includes(raw.format as string)) {
    throw new PublishedCheckpointError(
      "unsupported_format",
      `Unsupported delta format ${JSON.stringify(raw.format)} in ${source}; expected one of ` +
        DELTA_FORMATS.join(", "),
    );
  }
  for (const k of ["prev_window", "anchor_window", "total_params", "nonzero_params"]) {
    if (!Number.isSafeInteger(raw[k]) || (raw[k] as number) < 0) {
      throw fail(source, `${k} = ${JSON.stringify(raw[k])}, expected a non-negative integer`);
    }
  }
  if (!isObject(raw.shapes)) throw fail(source, "shapes is not an object");
  for (const [name, shape] of Object.entries(raw.shapes)) {
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw fail(source, `shapes[${JSON.stringify(name)}] = ${JSON.stringify(shape)}`);
    }
  }
  return {
    format: raw.format as DeltaFormat,
    threshold: typeof raw.threshold === "number" ? raw.threshold : 0,
    prev_window: raw.prev_window as number,
    anchor_window: raw.anchor_window as number,
    shapes: raw.shapes as Record<string, number[]>,
    total_params: raw.total_params as number,
    nonzero_params: raw.nonzero_params as number,
    sparsity_ratio: typeof raw.sparsity_ratio === "number" ? raw.sparsity_ratio : 0,
  };
}

/**
 * Writes `delta_metadata.json` exactly as the reference (indent 2; `threshold` first after
 * `format` because the stats dict's own `threshold` lands on the existing key).
 *
 * @param meta The delta metadata.
 * @returns The text.
 */
export function serializeDeltaMetadata(meta: DeltaMetadata): string {
  return pythonJsonDumps({
    format: meta.format,
    threshold: new PythonFloat(meta.threshold),
    prev_window: meta.prev_window,
    anchor_window: meta.anchor_window,
    shapes: meta.shapes,
    total_params: meta.total_params,
    nonzero_params: meta.nonzero_params,
    sparsity_ratio: new PythonFloat(meta.sparsity_ratio),
  }, { indent: 2, ensureAscii: false });
}
