/**
 * {@linkcode ObjectStore} over a local folder, for the local network and tests. Keys map to
 * files under the root; writes go to a temporary file in `<root>/.tmp/` (same file system),
 * are flushed, then renamed over the final path, so readers see the old object or the whole new
 * one. `lastModified` is the file's mtime floored to seconds.
 *
 * @module
 */

import { StorageError } from "./errors.ts";
import { floorToSecond, type ObjectInfo, type ObjectStore, validateKey } from "./storage.ts";

const TEMP_DIR = ".tmp";

function ioError(action: string, key: string, cause: unknown): StorageError {
  if (cause instanceof Deno.errors.NotFound) {
    return new StorageError("not_found", `No object ${JSON.stringify(key)} to ${action}`, {
      key,
      cause,
    });
  }
  if (cause instanceof Deno.errors.PermissionDenied) {
    return new StorageError(
      "access_denied",
      `Permission denied to ${action} ${JSON.stringify(key)}: ${(cause as Error).message}`,
      { key, cause },
    );
  }
  return new StorageError(
    "io",
    `Cannot ${action} ${JSON.stringify(key)}: ${(cause as Error).message}`,
    {
      key,
      cause,
    },
  );
}

/**
 * A folder acting as a bucket.
 *
 * @example
 * ```ts
 * import { FolderStore } from "./folder_store.ts";
 * const root = await Deno.makeTempDir();
 * const store = new FolderStore(root);
 * await store.put("grail/a.txt", new TextEncoder().encode("hi"));
 * if (new TextDecoder().decode(await store.get("grail/a.txt")) !== "hi") throw new Error("x");
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class FolderStore implements ObjectStore {
  /** Absolute or relative root folder. */
  readonly root: string;

  /**
   * Opens a store rooted at a local folder.
   *
   * @param root Folder holding the objects (created on first write).
   * @throws {RangeError} For an empty path.
   */
  constructor(root: string) {
    if (root.length === 0) throw new RangeError("FolderStore root must be a non-empty path");
    this.root = root.replace(/\/+$/, "") || "/";
  }

  #path(key: string): string {
    validateKey(key);
    if (key === TEMP_DIR || key.startsWith(`${TEMP_DIR}/`)) {
      throw new StorageError(
        "invalid_key",
        `Key ${JSON.stringify(key)} is reserved for temporary files`,
        {
          key,
        },
      );
    }
    return `${this.root}/${key}`;
  }

  /**
   * Writes atomically: temp file, fsync, rename.
   *
   * @param key Object key.
   * @param body Bytes.
   * @throws {StorageError} `invalid_key`, `access_denied` or `io`; nothing is left under `key`
   * on failure.
   */
  async put(key: string, body: Uint8Array): Promise<void> {
    const path = this.#path(key);
    const tempDir = `${this.root}/${TEMP_DIR}`;
    const tempPath = `${tempDir}/${crypto.randomUUID()}.tmp`;
    try {
      await Deno.mkdir(tempDir, { recursive: true });
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      const file = await Deno.open(tempPath, { write: true, createNew: true, mode: 0o644 });
      try {
        let written = 0;
        while (written < body.length) written += await file.write(body.subarray(written));
        await file.sync();
      } finally {
        file.close();
      }
      await Deno.rename(tempPath, path);
    } catch (cause) {
      await Deno.remove(tempPath).catch(() => {
        // The temp file may never have been created; the original error is what matters.
      });
      throw ioError("write", key, cause);
    }
  }

  /**
   * Reads a whole object.
   *
   * @param key Object key.
   * @returns The whole object.
   * @throws {StorageError} `not_found` when absent; `io` on read errors.
   */
  async get(key: string): Promise<Uint8Array> {
    const path = this.#path(key);
    try {
      return await Deno.readFile(path);
    } catch (cause) {
      throw ioError("read", key, cause);
    }
  }

  /**
   * Reads an object's size and modification time.
   *
   * @param key Object key.
   * @returns Size and mtime, or `null` when absent.
   * @throws {StorageError} `invalid_key` or `io`.
   */
  async head(key: string): Promise<ObjectInfo | null> {
    const path = this.#path(key);
    try {
      const stat = await Deno.stat(path);
      if (!stat.isFile) return null;
      return { key, sizeBytes: stat.size, lastModified: floorToSecond(stat.mtime ?? new Date(0)) };
    } catch (cause) {
      if (cause instanceof Deno.errors.NotFound) return null;
      throw ioError("stat", key, cause);
    }
  }

  /**
   * Lists objects by string prefix (not only whole folders), sorted by key.
   *
   * @param prefix Key prefix; `""` lists everything.
   * @returns Matching objects.
   * @throws {StorageError} `io` on read errors.
   */
  async list(prefix: string): Promise<ObjectInfo[]> {
    const slash = prefix.lastIndexOf("/");
    const base = slash < 0 ? "" : prefix.slice(0, slash);
    const found: ObjectInfo[] = [];
    const walk = async (relative: string): Promise<void> => {
      const dir = relative === "" ? this.root : `${this.root}/${relative}`;
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch (cause) {
        if (cause instanceof Deno.errors.NotFound || cause instanceof Deno.errors.NotADirectory) {
          return;
        }
        throw ioError("list", relative, cause);
      }
      for (const entry of entries) {
        const key = relative === "" ? entry.name : `${relative}/${entry.name}`;
        if (relative === "" && entry.name === TEMP_DIR) continue;
        if (entry.isDirectory) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) await walk(key);
        } else if (entry.isFile && key.startsWith(prefix)) {
          const info = await this.head(key);
          if (info !== null) found.push(info);
        }
      }
    };
    await walk(base);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Removes an object.
   *
   * @param key Object key; absent keys are fine.
   * @throws {StorageError} `invalid_key` or `io`.
   */
  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await Deno.remove(path);
    } catch (cause) {
      if (cause instanceof Deno.errors.NotFound) return;
      throw ioError("delete", key, cause);
    }
  }
}
