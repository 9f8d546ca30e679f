import { deepStrictEqual, rejects } from "node:assert/strict";
import { StateFile } from "../../src/roles/state.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("StateFile.load() returns null when nothing was saved", async () => {
  await withDir(async (dir) => {
    deepStrictEqual(await new StateFile(`${dir}/a/s.json`, "miner").load(), null);
  });
});

Deno.test("StateFile.save() round-trips and leaves no temporary file", async () => {
  await withDir(async (dir) => {
    const f = new StateFile<{ lastWindow: number; uploads: string[] }>(`${dir}/a/s.json`, "miner");
    await f.save({ lastWindow: 30, uploads: ["k"] });
    await f.save({ lastWindow: 60, uploads: ["k", "l"] });
    deepStrictEqual(await f.load(), { lastWindow: 60, uploads: ["k", "l"] });
    const names = [...Deno.readDirSync(`${dir}/a`)].map((e) => e.name);
    deepStrictEqual(names, ["s.json"]);
  });
});

Deno.test("StateFile.load() refuses another role's file, naming it", async () => {
  await withDir(async (dir) => {
    await new StateFile(`${dir}/s.json`, "miner").save({ x: 1 });
    await rejects(() => new StateFile(`${dir}/s.json`, "validator").load(), /"miner".*"validator"/);
  });
});

Deno.test("StateFile.load() refuses a torn or foreign file", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/s.json`, '{"kind": "miner", "ver');
    await rejects(() => new StateFile(`${dir}/s.json`, "miner").load(), /not JSON/);
  });
});
