/**
 * The `file_manifest` of a published checkpoint (infra spec §4.6): relative path → SHA-256 hex of
 * every model, tokenizer and config file (FULL) or of `delta_sparse.bin.zst` and
 * `delta_metadata.json` (DELTA); never of `metadata.json`, `manifest.sig`, markers or
 * `snapshot_metadata.json`.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { join, relative } from "node:path";

/** Files a manifest never covers (written after it, or markers). */
export const MANIFEST_EXCLUDED: ReadonlySet<string> = new Set([
  "metadata.json",
  "manifest.sig",
  "FULL",
  "DELTA",
  "snapshot_metadata.json",
]);

/**
 * SHA-256 of bytes, lowercase hex.
 *
 * @param bytes Data.
 * @returns 64 hex characters.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./manifest.ts";
 * if (!sha256Hex(new Uint8Array()).startsWith("e3b0c442")) throw new Error();
 * ```
 */
export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/**
 * Lists the files of a local checkpoint folder that a manifest covers (recursively, POSIX
 * relative paths, sorted).
 *
 * @param dir The folder.
 * @returns Relative paths.
 */
export async function manifestFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      const path = join(d, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.isFile) {
        const rel = relative(dir, path).split("\\").join("/");
        if (!MANIFEST_EXCLUDED.has(rel) && !rel.startsWith("READY")) out.push(rel);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * Builds the manifest of a local checkpoint folder.
 *
 * @param dir The folder.
 * @returns Relative path → SHA-256 hex.
 *
 * @example
 * ```ts
 * import { buildFileManifest } from "./manifest.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/config.json`, "{}");
 * await Deno.writeTextFile(`${dir}/metadata.json`, "{}");
 * const m = await buildFileManifest(dir);
 * await Deno.remove(dir, { recursive: true });
 * if (Object.keys(m).join() !== "config.json") throw new Error();
 * ```
 */
export async function buildFileManifest(dir: string): Promise<Record<string, string>> {
  const manifest: Record<string, string> = {};
  for (const rel of await manifestFiles(dir)) {
    manifest[rel] = sha256Hex(await Deno.readFile(join(dir, rel)));
  }
  return manifest;
}
