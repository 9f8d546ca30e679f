/**
 * Window files: one Parquet object per (miner hotkey, window) holding the miner's rollouts,
 * exactly as the reference writes and reads them (protocol spec §4.5, infra spec §4.2–4.3):
 * zstd level 1, dictionary encoding and statistics on, the reference's Arrow schema (all fields
 * nullable, `commit.commitments` and `commit.beacon` as Python-JSON strings), and file key-value
 * metadata `wallet`, `window_start`, `window_length`, `inference_count`, `timestamp`.
 *
 * Parquet comes from the Rust `parquet` crate compiled to WebAssembly (`parquet-wasm`), fed
 * through Apache Arrow JS; it embeds `ARROW:schema` as pyarrow does, so PyArrow reads our files
 * back with the same schema.
 *
 * @example Round trip in memory
 * ```ts
 * import { decodeWindowFile, encodeWindowFile } from "./window_file.ts";
 * import { windowFileKey } from "./storage.ts";
 * const bytes = encodeWindowFile({ wallet: "5Hot", windowStart: 60, timestamp: 1.5, rollouts: [] });
 * const back = decodeWindowFile(bytes, windowFileKey("5Hot", 60));
 * if (back.wallet !== "5Hot" || back.windowStart !== 60 || back.rollouts.length !== 0) {
 *   throw new Error("unexpected");
 * }
 * ```
 *
 * @module
 */

import { tableFromIPC, tableToIPC } from "apache-arrow";
import {
  Compression,
  EnabledStatistics,
  readParquet,
  Table as WasmTable,
  writeParquet,
  WriterPropertiesBuilder,
} from "parquet-wasm";
import { pythonFloatRepr } from "../protocol/python_json.ts";
import { rolloutsToTable, tableToRollouts } from "./_window_arrow.ts";
import {
  parseRollout,
  type ParseRolloutOptions,
  type Rollout,
  RolloutError,
} from "../protocol/rollout.ts";
import { type ObjectStore, windowFileKey } from "./storage.ts";
import { WindowFileError } from "./window_file_error.ts";

/** Blocks per window, written as the `window_length` metadata value. */
export const WINDOW_LENGTH = 30;

/** The reference refuses anything shorter (`_MIN_PARQUET_SIZE`). */
export const MIN_WINDOW_FILE_BYTES = 12;

/** What a miner writes for one window. */
export interface WindowFileInput {
  /** Miner hotkey SS58 (metadata `wallet`). */
  wallet: string;
  /** Window start block W. */
  windowStart: number;
  /** Metadata `window_length`; default {@link WINDOW_LENGTH}. */
  windowLength?: number;
  /** Unix time at upload, written as Python `str(float)`. */
  timestamp: number;
  /** Rows in file order. */
  rollouts: readonly Rollout[];
}

/** A window file as read back (the reference's `deserialize_parquet_to_window`). */
export interface WindowFile {
  /** Metadata `wallet`: the miner hotkey that wrote the file. */
  wallet: string;
  /** Metadata `window_start`. */
  windowStart: number;
  /** Metadata `window_length` (30). */
  windowLength: number;
  /** Metadata `inference_count` (as written; not checked against the rows, as in the reference). */
  inferenceCount: number;
  /** Metadata `timestamp`. */
  timestamp: number;
  /** Rows in file order. */
  rollouts: Rollout[];
}

/** Options of {@link decodeWindowFile}. */
export interface DecodeWindowFileOptions {
  /**
   * Check each row with `parseRollout` (hex formats, ranges, lengths); default true. Turn off
   * only to judge rows one by one later, as a validator's per-rollout report does.
   */
  validateRows?: boolean;
  /** Passed to `parseRollout` (vocabulary size, length caps). */
  parseOptions?: ParseRolloutOptions;
}

/**
 * Serialises a window to Parquet bytes, as the reference's `serialize_window_to_parquet`.
 *
 * @param input Wallet, window, timestamp and rollouts.
 * @returns The Parquet file.
 * @throws {WindowFileError} `bad_input` for a value the schema cannot hold (names row and field).
 *
 * @example
 * ```ts
 * import { encodeWindowFile } from "./window_file.ts";
 * const bytes = encodeWindowFile({ wallet: "5Hot", windowStart: 30, timestamp: 2, rollouts: [] });
 * if (new TextDecoder().decode(bytes.subarray(0, 4)) !== "PAR1") throw new Error("not Parquet");
 * ```
 */
export function encodeWindowFile(input: WindowFileInput): Uint8Array {
  if (!Number.isSafeInteger(input.windowStart)) {
    throw new WindowFileError("bad_input", `Window start must be an integer: ${input.windowStart}`);
  }
  const windowLength = input.windowLength ?? WINDOW_LENGTH;
  // Same keys, order and text as the reference (str(int), str(float)).
  const metadata = new Map<string, string>([
    ["wallet", input.wallet],
    ["window_start", String(input.windowStart)],
    ["window_length", String(windowLength)],
    ["inference_count", String(input.rollouts.length)],
    ["timestamp", pythonFloatRepr(input.timestamp)],
  ]);
  const table = rolloutsToTable(input.rollouts, metadata);
  const props = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD) // parquet-rs's default zstd level is 1, as the reference's
    .setDictionaryEnabled(true)
    .setStatisticsEnabled(EnabledStatistics.Page)
    .setKeyValueMetadata(metadata)
    .build();
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, "stream")), props);
}

function parseIntText(text: string | undefined, key: string, file: string): number {
  if (text === undefined || !/^-?[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new WindowFileError(
      "bad_metadata",
      `Cannot read ${file}: metadata ${key} = ${JSON.stringify(text)}, expected a decimal integer`,
      { file, field: key },
    );
  }
  return Number(text);
}

/**
 * Reads Parquet bytes back into a window, as the reference's `deserialize_parquet_to_window`,
 * but checking every field: nulls, wrong types and bad JSON are errors naming row and field.
 *
 * @param bytes The file's bytes.
 * @param file The file name or key, for messages.
 * @param options Row validation through `parseRollout` (on by default).
 * @returns Metadata and rollouts; commitments and beacon decoded, float32 log-probs widened.
 * @throws {WindowFileError} `too_small` (< 12 bytes), `corrupt` (not Parquet), `bad_metadata`,
 *   `bad_schema`, `null_value` (incl. the reference's null `rollout_group` rule), `bad_value`,
 *   `bad_json`; `bad_value` also for a row `parseRollout` refuses (field = its path).
 */
export function decodeWindowFile(
  bytes: Uint8Array,
  file = "window file",
  options: DecodeWindowFileOptions = {},
): WindowFile {
  if (bytes.length < MIN_WINDOW_FILE_BYTES) {
    throw new WindowFileError(
      "too_small",
      `Cannot read ${file}: ${bytes.length} bytes, a Parquet file has at least ` +
        `${MIN_WINDOW_FILE_BYTES}`,
      { file },
    );
  }
  let table;
  try {
    table = tableFromIPC(readParquet(bytes).intoIPCStream());
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new WindowFileError(
      "corrupt",
      `Cannot read ${file} as Parquet (${bytes.length} bytes): ${why.slice(0, 200)}`,
      { file, cause },
    );
  }
  const rows = tableToRollouts(table, file);
  const meta = table.schema.metadata;
  const wallet = meta.get("wallet");
  if (wallet === undefined) {
    throw new WindowFileError("bad_metadata", `Cannot read ${file}: no wallet in file metadata`, {
      file,
      field: "wallet",
    });
  }
  const tsText = meta.get("timestamp");
  const timestamp = Number(tsText);
  if (tsText === undefined || tsText.trim() === "" || Number.isNaN(timestamp)) {
    throw new WindowFileError(
      "bad_metadata",
      `Cannot read ${file}: metadata timestamp = ${JSON.stringify(tsText)}, expected a float`,
      { file, field: "timestamp" },
    );
  }
  return {
    wallet,
    windowStart: parseIntText(meta.get("window_start"), "window_start", file),
    windowLength: parseIntText(meta.get("window_length"), "window_length", file),
    inferenceCount: parseIntText(meta.get("inference_count"), "inference_count", file),
    timestamp,
    rollouts: options.validateRows === false
      ? rows
      : rows.map((row, i) => validateRow(row, i, file, options.parseOptions)),
  };
}

function validateRow(
  row: Rollout,
  index: number,
  file: string,
  parseOptions: ParseRolloutOptions | undefined,
): Rollout {
  try {
    return parseRollout(row, parseOptions);
  } catch (cause) {
    if (!(cause instanceof RolloutError)) throw cause;
    throw new WindowFileError(
      "bad_value",
      `Cannot read ${file}: row ${index} ${cause.message}`,
      { file, field: cause.path, row: index, cause },
    );
  }
}

/**
 * Writes a window file to a local path atomically (temporary file in the same folder, then
 * rename), so a reader never sees half a file.
 *
 * @param path Destination file.
 * @param input The window.
 * @returns Nothing; the file exists when the promise resolves.
 * @throws {WindowFileError} `bad_input` (see {@link encodeWindowFile}); Deno I/O errors.
 */
export async function writeWindowFile(path: string, input: WindowFileInput): Promise<void> {
  const bytes = encodeWindowFile(input);
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * Reads a local window file.
 *
 * @param path The file.
 * @returns The window.
 * @throws {WindowFileError} `not_found`, or any code of {@link decodeWindowFile}.
 */
export async function readWindowFile(path: string): Promise<WindowFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new WindowFileError("not_found", `Cannot read ${path}: no such file`, {
        file: path,
        cause,
      });
    }
    throw cause;
  }
  return decodeWindowFile(bytes, path);
}

/**
 * Uploads a window file to the miner's store under its reference key (raw, no gzip, as every
 * live writer does).
 *
 * @param store The miner's own bucket.
 * @param input The window; its `wallet` names the key.
 * @returns The key written.
 * @throws {WindowFileError} `bad_input`; {@link ObjectStore} errors.
 */
export async function putWindowFile(store: ObjectStore, input: WindowFileInput): Promise<string> {
  const key = windowFileKey(input.wallet, input.windowStart);
  await store.put(key, encodeWindowFile(input));
  return key;
}

async function gunzip(bytes: Uint8Array, key: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (cause) {
    throw new WindowFileError("corrupt", `Cannot gunzip ${key} (${bytes.length} bytes)`, {
      file: key,
      cause,
    });
  }
}

/**
 * Downloads and reads a miner's window file: tries `key + ".gz"` first (gunzipped), then `key`,
 * as the reference's reader does.
 *
 * @param store The miner's bucket (read credentials).
 * @param hotkey Miner hotkey SS58.
 * @param windowStart Window start block.
 * @returns The window.
 * @throws {WindowFileError} `not_found` when neither object exists, or any code of
 *   {@link decodeWindowFile}; {@link ObjectStore} errors other than absence.
 */
export async function getWindowFile(
  store: ObjectStore,
  hotkey: string,
  windowStart: number,
): Promise<WindowFile> {
  const key = windowFileKey(hotkey, windowStart);
  if (await store.head(`${key}.gz`) !== null) {
    return decodeWindowFile(await gunzip(await store.get(`${key}.gz`), `${key}.gz`), `${key}.gz`);
  }
  if (await store.head(key) === null) {
    throw new WindowFileError("not_found", `No window file at ${key} (nor ${key}.gz)`, {
      file: key,
    });
  }
  return decodeWindowFile(await store.get(key), key);
}
