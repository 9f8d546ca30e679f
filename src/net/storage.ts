/**
 * The object-store interface shared by R2/S3 ({@linkcode S3Store} in `s3_store.ts`) and a local
 * folder (`FolderStore` in `folder_store.ts`), and the key layout of infra spec §4.2.
 *
 * Contract for every implementation:
 * - `put` is atomic for readers: they see the old object, no object, or the whole new one —
 *   never a prefix, and a failed put leaves nothing under the key.
 * - `get` of a missing key throws {@linkcode StorageError} with code `not_found`.
 * - `lastModified` is floored to whole seconds, as S3's HEAD reports it and as the upload
 *   deadline compares it (infra spec §1.4).
 *
 * @module
 */

import { StorageError } from "./errors.ts";

/** Metadata of one stored object. */
export interface ObjectInfo {
  /** Full key. */
  key: string;
  /** Length in bytes. */
  sizeBytes: number;
  /** Last modification (upload completion), whole seconds. */
  lastModified: Date;
}

/** A bucket-like key/value store of byte objects. */
export interface ObjectStore {
  /** Stores `body` under `key`; readers never see a partial object. */
  put(key: string, body: Uint8Array): Promise<void>;
  /** Reads a whole object; throws `StorageError` code `not_found` if absent. */
  get(key: string): Promise<Uint8Array>;
  /** Object metadata, or `null` when absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Removes an object; removing an absent key succeeds. */
  delete(key: string): Promise<void>;
}

/** Prefix of miner window files. */
export const WINDOWS_PREFIX = "grail/windows/";
/** Prefix of validator trust lists. */
export const TRUST_PREFIX = "grail/trust/";

/**
 * Checks a key the way both stores need it: non-empty, at most 1024 UTF-8 bytes, relative, with
 * no empty, `.` or `..` segment, no backslash and no control characters.
 *
 * @param key Candidate key.
 * @returns The key unchanged.
 * @throws {StorageError} Code `invalid_key`, naming the key.
 *
 * @example
 * ```ts
 * import { validateKey } from "./storage.ts";
 * if (validateKey("grail/windows/a-window-30.parquet") !== "grail/windows/a-window-30.parquet") {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function validateKey(key: string): string {
  const problem = keyProblem(key);
  if (problem !== null) {
    throw new StorageError(
      "invalid_key",
      `Invalid object key ${JSON.stringify(key.slice(0, 200))}: ${problem}`,
      { key },
    );
  }
  return key;
}

function keyProblem(key: string): string | null {
  if (key.length === 0) return "it is empty";
  if (new TextEncoder().encode(key).length > 1024) return "it is longer than 1024 bytes";
  if (key.startsWith("/")) return "it must be relative (no leading /)";
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(key)) return "it contains a control character or backslash";
  if (key.split("/").some((s) => s === "" || s === "." || s === "..")) {
    return "it has an empty, '.' or '..' path segment";
  }
  return null;
}

/**
 * Key of a miner's window file: `grail/windows/{hotkey}-window-{window}.parquet`.
 *
 * @param hotkey Miner hotkey SS58 address.
 * @param window Window start.
 * @returns The object key.
 * @throws {RangeError} For a window that is not a non-negative integer or an empty hotkey.
 *
 * @example
 * ```ts
 * import { windowFileKey } from "./storage.ts";
 * if (windowFileKey("5Abc", 990) !== "grail/windows/5Abc-window-990.parquet") throw new Error("x");
 * ```
 */
export function windowFileKey(hotkey: string, window: number): string {
  if (hotkey.length === 0 || hotkey.includes("/")) {
    throw new RangeError(`Hotkey must be a non-empty SS58 address, got ${JSON.stringify(hotkey)}`);
  }
  if (!Number.isSafeInteger(window) || window < 0) {
    throw new RangeError(`Window must be a non-negative integer, got ${window}`);
  }
  return `${WINDOWS_PREFIX}${hotkey}-window-${window}.parquet`;
}

/**
 * Key of a validator's trust list for a window: `grail/trust/trust_list_{window}.json`.
 *
 * @param window Window start.
 * @returns The object key.
 * @throws {RangeError} For a window that is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { trustListKey } from "./storage.ts";
 * if (trustListKey(990) !== "grail/trust/trust_list_990.json") throw new Error("unexpected");
 * ```
 */
export function trustListKey(window: number): string {
  if (!Number.isSafeInteger(window) || window < 0) {
    throw new RangeError(`Window must be a non-negative integer, got ${window}`);
  }
  return `${TRUST_PREFIX}trust_list_${window}.json`;
}

/**
 * Floors a time to whole seconds, the resolution S3 HEAD reports and deadlines compare.
 *
 * @param date Any date.
 * @returns A new date at the start of its second.
 *
 * @example
 * ```ts
 * import { floorToSecond } from "./storage.ts";
 * if (floorToSecond(new Date(1999)).getTime() !== 1000) throw new Error("unexpected");
 * ```
 */
export function floorToSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
