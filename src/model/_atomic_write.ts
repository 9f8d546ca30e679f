import { basename, dirname, join } from "node:path";

/** Writes a file through a temp file in the same folder and a rename, so readers never see part of it. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (cause) {
    // The write already failed; a leftover temp file must not mask that error.
    await Deno.remove(tmp).catch(() => undefined);
    throw cause;
  }
}
