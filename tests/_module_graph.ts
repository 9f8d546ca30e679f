/**
 * Test helper: the repository's own modules an entry point imports, from `deno info --json`
 * (used to keep mod.ts, src/envs/mod.ts and src/validation/mod.ts inside their layers).
 */

const ROOT = new URL("../", import.meta.url);

/**
 * Lists the local modules in an entry point's import graph.
 *
 * @param entry The entry point, relative to the repository root (e.g. `"mod.ts"`).
 * @returns Repository-relative paths of every `file:` module reached, the entry included.
 * @throws {Error} When `deno info` fails, with its stderr.
 */
export async function localModulePaths(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  return info.modules.map((m) => m.specifier).filter((s) => s.startsWith("file:"))
    .map((s) => decodeURIComponent(s.slice(ROOT.href.length)));
}
