import { deepStrictEqual, ok as assert, strictEqual } from "node:assert/strict";
import { main } from "../../src/cli/verify.ts";
import { encodeWindowFile } from "../../src/net/window_file.ts";
import type { Rollout } from "../../src/protocol/rollout.ts";
import {
  devKey,
  fixtureTokenizerFiles,
  honestGroup,
  QWEN2_TINY,
  QWEN3_TINY,
  WINDOW,
  WINDOW_RANDOMNESS,
} from "../roles/_fixtures.ts";
import { copyRows, resign } from "../roles/_forge.ts";

const alice = await devKey("alice");
const tmp = await Deno.makeTempDir({ prefix: "grail-verify-" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

// A checkpoint folder as a validator holds it: the fixture weights, the tokenizer, metadata.json.
const modelDir = `${tmp}/qwen3-tiny`;
await Deno.mkdir(modelDir);
for (const f of ["config.json", "model.safetensors"]) {
  await Deno.symlink(`${QWEN3_TINY}/${f}`, `${modelDir}/${f}`);
}
const files = await fixtureTokenizerFiles();
await Deno.writeTextFile(`${modelDir}/tokenizer.json`, JSON.stringify(files.json));
await Deno.writeTextFile(`${modelDir}/tokenizer_config.json`, JSON.stringify(files.config));
await Deno.writeTextFile(
  `${modelDir}/metadata.json`,
  JSON.stringify({
    model_name: "qwen3-tiny",
    env_id: "sat",
    thinking_mode: "instructed",
    generation_params: {
      max_tokens: 40,
      temperature: 0.05,
      top_p: 1,
      top_k: 0,
      repetition_penalty: 1,
    },
  }),
);

async function writeFile(name: string, rows: Rollout[]): Promise<string> {
  const path = `${tmp}/${name}`;
  await Deno.writeFile(
    path,
    encodeWindowFile({
      wallet: alice.hotkey,
      windowStart: WINDOW.windowStart,
      timestamp: 1.8e9,
      rollouts: rows,
    }),
  );
  return path;
}

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const honestPath = await writeFile("honest.parquet", await honestGroup("alice"));

Deno.test("main() passes an honest window file and prints one JSON object", async () => {
  const { code, out } = await run([
    honestPath,
    "--model",
    modelDir,
    "--json",
    "--window-randomness",
    WINDOW_RANDOMNESS,
  ]);
  strictEqual(code, 0);
  strictEqual(out.length, 1);
  const doc = JSON.parse(out[0]);
  strictEqual(doc.rollouts.length, 16);
  deepStrictEqual(Object.keys(doc.rollouts[0]).slice(0, 4), [
    "index",
    "hotkey",
    "verdict",
    "failed",
  ]);
  assert(doc.rollouts.every((r: { verdict: string }) => r.verdict === "pass"));
  strictEqual(doc.summary.miner_verdict, "accepted");
  strictEqual(doc.summary.mode, "strict");
});

Deno.test("main() prints a per-rollout table and a summary", async () => {
  const { code, out } = await run([honestPath, "--model", modelDir, "--mode", "compat"]);
  strictEqual(code, 0);
  assert(out.some((l) => l.startsWith("passed 16/16")));
  strictEqual(out.filter((l) => / pass {4}/.test(l)).length, 16);
});

Deno.test("main() exits 1 and names the failed check for forged sketches", async () => {
  const rows = copyRows(await honestGroup("alice"));
  for (const r of rows) {
    r.commit.commitments = r.commit.commitments.map(() => ({ sketch: 0 }));
    resign(r, alice.keypair);
  }
  const path = await writeFile("zero.parquet", rows);
  const { code, out } = await run([
    path,
    "--model",
    modelDir,
    "--json",
    "--window-randomness",
    WINDOW_RANDOMNESS,
  ]);
  strictEqual(code, 1);
  const doc = JSON.parse(out[0]);
  deepStrictEqual(doc.rollouts[0].failed, ["proof_valid"]);
  strictEqual(doc.summary.failure_reason, "hard:proof_valid");
});

Deno.test("main() with --only proof needs neither tokenizer nor task", async () => {
  const bare = `${tmp}/bare-qwen3-tiny`;
  await Deno.mkdir(bare);
  for (const f of ["config.json", "model.safetensors"]) {
    await Deno.symlink(`${QWEN3_TINY}/${f}`, `${bare}/${f}`);
  }
  const { code, out } = await run([
    honestPath,
    "--model",
    bare,
    "--only",
    "proof",
    "--model-name",
    "qwen3-tiny",
    "--json",
  ]);
  strictEqual(code, 0, out.join("\n"));
  deepStrictEqual(JSON.parse(out[0]).rollouts[0].failed, []);
});

Deno.test("main() reports a corrupt file in one line", async () => {
  const path = `${tmp}/corrupt.parquet`;
  await Deno.writeFile(path, new TextEncoder().encode("PAR1 this is not parquet at all PAR1"));
  const { code, err } = await run([path, "--model", modelDir]);
  strictEqual(code, 2);
  strictEqual(err.length, 1);
  assert(err[0].includes("is not a readable window file"), err[0]);
});

Deno.test("main() reports a truncated file in one line", async () => {
  const bytes = await Deno.readFile(honestPath);
  const path = `${tmp}/truncated.parquet`;
  await Deno.writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const { code, err } = await run([path, "--model", modelDir]);
  strictEqual(code, 2);
  strictEqual(err.length, 1);
  assert(err[0].includes("corrupt or truncated"), err[0]);
});

Deno.test("main() reports a missing model folder in one line", async () => {
  const { code, err } = await run([honestPath, "--model", `${tmp}/no-such-model`]);
  strictEqual(code, 2);
  strictEqual(err.length, 1);
  assert(err[0].includes("not found"), err[0]);
});

Deno.test("main() reports a wrong model in one line", async () => {
  const { code, err } = await run([honestPath, "--model", QWEN2_TINY]);
  strictEqual(code, 2);
  strictEqual(err.length, 1);
  assert(err[0].startsWith("grail verify: wrong model"), err[0]);
});

Deno.test("main() rejects an unknown mode", async () => {
  const { code, err } = await run([honestPath, "--model", modelDir, "--mode", "lenient"]);
  strictEqual(code, 2);
  assert(err[0].includes("--mode must be strict or compat"));
});

Deno.test("main() accepts the reference-written window file's bf16-CUDA proofs in compat mode", async () => {
  // Written by the reference's serializer, sketches from the bf16 model on an H100, signed with
  // a real sr25519 key; the first rollout's completion is 28 tokens, under v5's minimum of 32.
  const path = `${QWEN3_TINY}/../window/qwen3-tiny-window.parquet`;
  const { out } = await run([
    path,
    "--model",
    QWEN3_TINY,
    "--only",
    "proof",
    "--mode",
    "compat",
    "--json",
  ]);
  const doc = JSON.parse(out[0]);
  deepStrictEqual(doc.rollouts.map((r: { verdict: string }) => r.verdict), [
    "fail",
    "pass",
    "pass",
  ]);
  deepStrictEqual(doc.rollouts[0].failed, ["proof_valid"]);
  // total_in_group is 3 in this format fixture, so the file-level group check fails.
  strictEqual(doc.summary.file_failure, "invalid_group_size");
});

Deno.test("main() in strict mode refuses the reference fixture's groups of 3", async () => {
  // The format fixture's total_in_group is 3; strict requires index < 16 of a group of 16 (its
  // bf16-CUDA sketches pass the strict rule itself: tests/roles/strict_policy_test.ts).
  const path = `${QWEN3_TINY}/../window/qwen3-tiny-window.parquet`;
  const { code, out } = await run([path, "--model", QWEN3_TINY, "--only", "proof", "--json"]);
  strictEqual(code, 1);
  const doc = JSON.parse(out[0]);
  deepStrictEqual(doc.rollouts.map((r: { failed: string[] }) => r.failed), [["nonce"], ["nonce"], [
    "nonce",
  ]]);
});
