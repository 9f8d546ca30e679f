import { ok, strictEqual } from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

async function grail(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bin/grail.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("grail dispatches demo to its subcommand and passes its exit code", async () => {
  const { code, stdout } = await grail("demo", "--hidden-dim", "32", "--completion-length", "32");
  strictEqual(code, 0);
  ok(stdout.includes("checks gave the expected verdict"), stdout);
});

Deno.test("grail rejects an unknown subcommand with exit code 2 and the usage", async () => {
  const { code, stderr } = await grail("no-such-command");
  strictEqual(code, 2);
  ok(stderr.includes('unknown subcommand "no-such-command"'), stderr);
  ok(stderr.includes("Usage: grail"), stderr);
});

Deno.test("grail rejects an Object.prototype name as an unknown subcommand", async () => {
  const { code, stderr } = await grail("constructor");
  strictEqual(code, 2);
  ok(stderr.includes('unknown subcommand "constructor"'), stderr);
});

Deno.test("grail --help lists the subcommands and exits 0", async () => {
  const { code, stdout } = await grail("--help");
  strictEqual(code, 0);
  ok(stdout.includes("demo"), stdout);
});
