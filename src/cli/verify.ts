/**
 * `grail verify FILE --model DIR [--mode strict|compat] [--only proof] [--json]`: verifies every
 * rollout of a window file against a checkpoint folder and prints a per-rollout table and a
 * summary (or one JSON object). Exit codes: 0 all passed, 1 a hard failure (or the miner would be
 * rejected), 2 bad input (unreadable file, missing or wrong model, bad flags).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, join } from "node:path";
import { loadModel } from "../model/load.ts";
import type { Model } from "../model/model.ts";
import { generationParamsFromMetadata } from "../model/sampling.ts";
import { ModelTokenizer } from "../model/tokenizer.ts";
import { decodeWindowFile, type WindowFile } from "../net/window_file.ts";
import { bytesToHex } from "../protocol/hex.ts";
import { loadLogitsSource, type LogitsSource } from "../roles/lm_head.ts";
import { pipelineTokenizer, type TaskConfig } from "../roles/task.ts";
import {
  type MinerValidationResult,
  validateMinerFile,
  type VerificationMode,
} from "../roles/validator_pipeline.ts";

const USAGE = `Usage: grail verify FILE --model DIR [options]

Verifies every rollout of a window file (Parquet) against the checkpoint in DIR.

Options:
  --mode strict|compat       strict (default): our rules; compat: the reference's v5 rules
  --only proof               only schema, signatures, tokens, sketches and log-probs
  --json                     print one JSON object instead of the table
  --backend cpu|webgpu|cuda  model backend (default cpu; cuda: NVIDIA GPUs, bf16)
  --miner SS58               the miner whose file it is (default: the file's wallet)
  --window-randomness HEX    strict: the window's beacon randomness (block hash + drand round)
  --challenge-randomness HEX challenge randomness for v5's 32 positions (default: 32 random bytes)
  --checkpoint-window N      require this checkpoint window
  --model-name NAME          the model name rollouts must claim (default: metadata.json model_name,
                             else the folder name)
  --env ID --thinking-mode M --max-tokens N --temperature T --top-p P --top-k K
  --repetition-penalty R     the task, when DIR has no metadata.json`;

/** Where the command writes (tests capture it). */
export interface VerifyIo {
  /** Standard output, one line per call. */
  out: (line: string) => void;
  /** Standard error, one line per call. */
  err: (line: string) => void;
}

class UsageError extends Error {}

/**
 * Runs `grail verify`.
 *
 * @param args Arguments after `verify`.
 * @param io Output sinks (default: the console).
 * @returns Exit code: 0 all passed, 1 failures, 2 bad input.
 *
 * @example
 * ```ts
 * import { main } from "./verify.ts";
 * const lines: string[] = [];
 * const code = await main(["/nonexistent.parquet", "--model", "/nonexistent"], {
 *   out: (l) => lines.push(l),
 *   err: (l) => lines.push(l),
 * });
 * if (code !== 2 || lines.length !== 1) throw new Error(lines.join("\n"));
 * ```
 */
export async function main(args: string[], io: VerifyIo = defaultIo()): Promise<number> {
  let model: Model | null = null;
  try {
    const opts = parseOptions(args);
    if (opts.help) {
      io.out(USAGE);
      return 0;
    }
    const file = await readFile(opts.file);
    const metadata = await readMetadata(opts.modelDir);
    model = await openModel(opts.modelDir, opts.backend);
    const modelName = opts.modelName ?? stringField(metadata, "model_name") ??
      basename(opts.modelDir.replace(/\/+$/, ""));
    checkModelMatches(file, opts, model, modelName);
    const full = opts.only !== "proof";
    const task = full ? taskConfig(opts, metadata) : undefined;
    const tokenizer = full ? pipelineTokenizer(await openTokenizer(opts.modelDir)) : undefined;
    let logits: LogitsSource | undefined;
    if (task && (task.generation.temperature !== 1 || task.generation.repetitionPenalty !== 1)) {
      logits = await loadLogitsSource(opts.modelDir);
    }
    const challenge = opts.challengeRandomness ??
      bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
    const miner = opts.miner ?? file.wallet;
    const result = await validateMinerFile(file.rollouts, file, {
      mode: opts.mode,
      minerHotkey: miner,
      model,
      modelName,
      tokenizer,
      task,
      logits,
      only: opts.only,
      selection: "all",
      window: {
        windowStart: file.windowStart,
        blockHash: opts.blockHash ?? file.rollouts[0]?.block_hash ?? "",
        challengeRandomness: challenge,
        beaconRandomness: opts.windowRandomness,
        checkpointWindow: opts.checkpointWindow,
      },
    });
    const summary = summarize(opts, file, miner, modelName, challenge, result);
    if (opts.json) {
      io.out(JSON.stringify({
        rollouts: result.rollouts.map((v) => ({
          index: v.index,
          hotkey: v.hotkey,
          verdict: v.verdict,
          failed: v.failed,
          reasons: v.reasons,
        })),
        summary,
      }));
    } else {
      printTable(io, result, summary);
    }
    return summary.rejected ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`grail verify: ${e.message}`);
      return 2;
    }
    io.err(`grail verify: ${oneLine(e)}`);
    return 2;
  } finally {
    model?.dispose();
  }
}

function defaultIo(): VerifyIo {
  return { out: (l) => console.log(l), err: (l) => console.error(l) };
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ").slice(0, 400);
}

interface Options {
  help: boolean;
  file: string;
  modelDir: string;
  mode: VerificationMode;
  only?: "proof";
  json: boolean;
  backend: "cpu" | "webgpu" | "cuda";
  miner?: string;
  windowRandomness?: string;
  challengeRandomness?: string;
  blockHash?: string;
  checkpointWindow?: number;
  modelName?: string;
  task: Record<string, string | undefined>;
}

function parseOptions(args: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        model: { type: "string" },
        mode: { type: "string" },
        only: { type: "string" },
        json: { type: "boolean" },
        backend: { type: "string" },
        miner: { type: "string" },
        "window-randomness": { type: "string" },
        "challenge-randomness": { type: "string" },
        "block-hash": { type: "string" },
        "checkpoint-window": { type: "string" },
        "model-name": { type: "string" },
        env: { type: "string" },
        "thinking-mode": { type: "string" },
        "max-tokens": { type: "string" },
        temperature: { type: "string" },
        "top-p": { type: "string" },
        "top-k": { type: "string" },
        "repetition-penalty": { type: "string" },
      },
    });
  } catch (e) {
    throw new UsageError(`${oneLine(e)} (see grail verify --help)`);
  }
  const v = parsed.values;
  if (v.help) return { help: true } as Options;
  if (parsed.positionals.length !== 1) {
    throw new UsageError(
      `expected one window file, got ${parsed.positionals.length} (see grail verify --help)`,
    );
  }
  if (v.model === undefined) throw new UsageError("missing --model DIR (the checkpoint folder)");
  const mode = v.mode ?? "strict";
  if (mode !== "strict" && mode !== "compat") {
    throw new UsageError(`--mode must be strict or compat, got ${JSON.stringify(mode)}`);
  }
  if (v.only !== undefined && v.only !== "proof") {
    throw new UsageError(`--only accepts only "proof", got ${JSON.stringify(v.only)}`);
  }
  const backend = v.backend ?? "cpu";
  if (backend !== "cpu" && backend !== "webgpu" && backend !== "cuda") {
    throw new UsageError(
      `--backend must be cpu, webgpu or cuda, got ${JSON.stringify(backend)}`,
    );
  }
  let checkpointWindow: number | undefined;
  if (v["checkpoint-window"] !== undefined) {
    checkpointWindow = Number(v["checkpoint-window"]);
    if (!Number.isSafeInteger(checkpointWindow)) {
      throw new UsageError(`--checkpoint-window must be an integer, got ${v["checkpoint-window"]}`);
    }
  }
  for (const key of ["window-randomness", "challenge-randomness"] as const) {
    if (v[key] !== undefined && !/^[0-9a-fA-F]+$/.test(v[key]!)) {
      throw new UsageError(`--${key} must be hex without 0x, got ${JSON.stringify(v[key])}`);
    }
  }
  return {
    help: false,
    file: parsed.positionals[0],
    modelDir: v.model,
    mode,
    only: v.only as "proof" | undefined,
    json: v.json === true,
    backend,
    miner: v.miner,
    windowRandomness: v["window-randomness"]?.toLowerCase(),
    challengeRandomness: v["challenge-randomness"],
    blockHash: v["block-hash"],
    checkpointWindow,
    modelName: v["model-name"],
    task: {
      env: v.env,
      thinkingMode: v["thinking-mode"],
      maxTokens: v["max-tokens"],
      temperature: v.temperature,
      topP: v["top-p"],
      topK: v["top-k"],
      repetitionPenalty: v["repetition-penalty"],
    },
  };
}

async function readFile(path: string): Promise<WindowFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`cannot read ${path}: no such file`);
    throw new Error(`cannot read ${path}: ${oneLine(e)}`);
  }
  try {
    return decodeWindowFile(bytes, path, { validateRows: false });
  } catch (e) {
    throw new Error(
      `${path} is not a readable window file (${bytes.length} bytes, corrupt or truncated?): ${
        oneLine(e)
      }`,
    );
  }
}

async function readMetadata(dir: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, "metadata.json"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`cannot read ${join(dir, "metadata.json")}: ${oneLine(e)}`);
  }
  try {
    const value = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new Error("not an object");
    }
    return value;
  } catch (e) {
    throw new Error(`invalid ${join(dir, "metadata.json")}: ${oneLine(e)}`);
  }
}

function stringField(obj: Record<string, unknown> | null, key: string): string | undefined {
  const v = obj?.[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

async function openModel(dir: string, backend: "cpu" | "webgpu" | "cuda"): Promise<Model> {
  try {
    const stat = await Deno.stat(dir);
    if (!stat.isDirectory) throw new Error("not a folder");
  } catch (e) {
    throw new Error(
      `model folder ${dir} not found (${
        e instanceof Deno.errors.NotFound ? "no such folder" : oneLine(e)
      }); pass --model with the checkpoint folder (config.json + model.safetensors)`,
    );
  }
  try {
    return await loadModel(dir, { backend });
  } catch (e) {
    throw new Error(`cannot load the model in ${dir}: ${oneLine(e)}`);
  }
}

async function openTokenizer(dir: string): Promise<ModelTokenizer> {
  try {
    return await ModelTokenizer.load(dir);
  } catch (e) {
    throw new Error(`${oneLine(e)}; or run with --only proof, which needs no tokenizer`);
  }
}

/** A wrong model shows before any forward: ids beyond its vocabulary, or another model name. */
function checkModelMatches(file: WindowFile, opts: Options, model: Model, modelName: string): void {
  for (let i = 0; i < file.rollouts.length; i++) {
    const tokens = file.rollouts[i]?.commit?.tokens;
    if (!Array.isArray(tokens)) continue;
    const bad = tokens.find((t) => typeof t === "number" && t >= model.vocabSize);
    if (bad !== undefined) {
      throw new Error(
        `wrong model: row ${i} of ${opts.file} holds token id ${bad}, beyond the vocabulary of ${model.vocabSize} in ${opts.modelDir}; pass the checkpoint the miner used`,
      );
    }
  }
  const claimed = new Set(file.rollouts.map((r) => r?.commit?.model?.name));
  if (opts.modelName === undefined && claimed.size > 0 && !claimed.has(modelName)) {
    throw new Error(
      `wrong model: ${opts.file} claims model ${
        JSON.stringify([...claimed][0])
      } but ${opts.modelDir} is ${
        JSON.stringify(modelName)
      }; pass the claimed checkpoint, or --model-name if it is the same one under another name`,
    );
  }
}

function taskConfig(opts: Options, metadata: Record<string, unknown> | null): TaskConfig {
  const t = opts.task;
  const envId = t.env ?? stringField(metadata, "env_id");
  if (envId === undefined) {
    throw new UsageError(
      `no task: ${opts.modelDir} has no metadata.json with env_id; pass --env and the generation flags, or --only proof`,
    );
  }
  const meta = (metadata?.generation_params ?? {}) as Record<string, unknown>;
  const num = (
    flag: string | undefined,
    key: string,
  ) => (flag === undefined ? meta[key] : Number(flag));
  const generation = generationParamsFromMetadata({
    max_tokens: num(t.maxTokens, "max_tokens"),
    temperature: num(t.temperature, "temperature"),
    top_p: num(t.topP, "top_p"),
    top_k: num(t.topK, "top_k"),
    repetition_penalty: num(t.repetitionPenalty, "repetition_penalty"),
  });
  const thinking = t.thinkingMode ?? stringField(metadata, "thinking_mode") ?? "instructed";
  if (thinking !== "instructed" && thinking !== "native") {
    throw new UsageError(
      `thinking mode must be instructed or native, got ${JSON.stringify(thinking)}`,
    );
  }
  return { envId, thinkingMode: thinking, generation };
}

interface Summary {
  file: string;
  mode: VerificationMode;
  only: string | null;
  miner: string;
  window_start: number;
  model: string;
  challenge_randomness: string;
  rollouts: number;
  passed: number;
  failed: number;
  hard_failures: number;
  file_failure: string | null;
  miner_verdict: "accepted" | "rejected";
  failure_reason: string | null;
  estimated_unique: number;
  failed_checks: Record<string, number>;
  notes: string[];
  rejected: boolean;
}

function summarize(
  opts: Options,
  file: WindowFile,
  miner: string,
  modelName: string,
  challenge: string,
  result: MinerValidationResult,
): Summary {
  const failedChecks: Record<string, number> = {};
  for (const v of result.rollouts) {
    for (const c of v.failed) failedChecks[c] = (failedChecks[c] ?? 0) + 1;
  }
  const hard = result.rollouts.filter((v) => v.hardFailure).length;
  const rejected = hard > 0 || result.fileFailure !== undefined || result.metrics.had_failure === 1;
  return {
    file: opts.file,
    mode: opts.mode,
    only: opts.only ?? null,
    miner,
    window_start: file.windowStart,
    model: modelName,
    challenge_randomness: challenge,
    rollouts: result.rollouts.length,
    passed: result.rollouts.filter((v) => v.verdict === "pass").length,
    failed: result.rollouts.filter((v) => v.verdict === "fail").length,
    hard_failures: hard,
    file_failure: result.fileFailure ?? null,
    miner_verdict: rejected ? "rejected" : "accepted",
    failure_reason: result.metrics.failure_reason,
    estimated_unique: result.metrics.estimated_unique,
    failed_checks: failedChecks,
    notes: result.notes,
    rejected,
  };
}

function printTable(io: VerifyIo, result: MinerValidationResult, s: Summary): void {
  io.out(
    `${s.file}: ${s.rollouts} rollouts, miner ${s.miner}, window ${s.window_start}, mode ${s.mode}${
      s.only ? " (proof only)" : ""
    }`,
  );
  io.out("");
  io.out(`${"row".padStart(5)}  ${"group".padStart(5)}  verdict  failed checks`);
  for (const v of result.rollouts) {
    const why = v.failed.map((c) => (v.reasons[c] ? `${c} (${v.reasons[c]})` : c)).join("; ");
    io.out(
      `${String(v.index).padStart(5)}  ${String(v.group).padStart(5)}  ${v.verdict.padEnd(7)}  ${
        why || "-"
      }`,
    );
  }
  io.out("");
  io.out(`passed ${s.passed}/${s.rollouts}, failed ${s.failed} (hard ${s.hard_failures})`);
  if (s.file_failure) io.out(`file check failed: ${s.file_failure}`);
  const counts = Object.entries(s.failed_checks).map(([k, n]) => `${k} ×${n}`).join(", ");
  if (counts) io.out(`failed checks: ${counts}`);
  io.out(
    `miner verdict: ${s.miner_verdict}${
      s.failure_reason ? ` (${s.failure_reason})` : ""
    }, estimated unique ${s.estimated_unique}`,
  );
  io.out(`challenge randomness: ${s.challenge_randomness}`);
  for (const n of s.notes) io.out(`note: ${n}`);
}
