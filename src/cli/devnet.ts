/**
 * `grail devnet`: runs the embedded local network (src/devnet/devnet.ts) and prints each window
 * and a summary table.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CHEATS, parseCheat } from "../devnet/cheats.ts";
import { runDevnet } from "../devnet/devnet.ts";
import { Progress } from "../roles/progress.ts";

const USAGE = `Usage: grail devnet [options]

Runs a whole GRAIL network in this process: a local chain, local buckets, a local drand beacon,
a tiny Qwen3-shaped model published as checkpoint 0, honest miners, one cheater and a validator.

Options:
  --windows N                 windows to validate before stopping (default 2)
  --miners N                  honest miners (default 2)
  --cheat KIND|none           ${CHEATS.join(" | ")} | none (default zero-sketch)
  --backend webgpu|cpu|cuda   model backend of miners and validator (default webgpu)
  --mode strict|compat        validator rules (default strict)
  --store folder|s3           buckets in folders (default) or in a local S3 server (s3rver)
  --dir PATH                  state folder (default ./.grail/devnet; wiped on start)
  --env sat|echo-digit        checkpoint env_id (default sat); echo-digit is the teaching env a
                              tiny model learns: 300-id vocabulary, temperature 1, trainer with
                              KL 0 and lr 3e-3 (docs/train.md)
  --groups N                  GRPO groups per miner per window (default 1)
  --max-tokens N              completion budget published in the checkpoint (default 40)
  --vocab cut|full            Qwen3 tokenizer cut to 2048 ids (default) or the full 151,936
  --no-trainer                publish checkpoint 0 once instead of running the trainer as UID 0
                              (which publishes checkpoint 0, then a DELTA every window)
  --restart-validator-after N stop and restart the validator after N windows (resume demo)
  -v, --verbose               also print the roles' log lines on stderr
  -h, --help                  this text`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Invalid --${name} ${JSON.stringify(value)}: expected an integer ≥ 1`);
  }
  return n;
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new RangeError(
      `Invalid --${name} ${JSON.stringify(value)}: expected ${allowed.join(" or ")}`,
    );
  }
  return value as T;
}

/**
 * Runs `grail devnet`.
 *
 * @param args Command-line arguments after `devnet`.
 * @returns Exit code: 0 when honest miners got weight and the cheater none (with
 *   `--env echo-digit`: when the trainer trained at least one group), 1 otherwise, 2 for bad
 *   arguments.
 *
 * @example
 * ```ts
 * import { main } from "./devnet.ts";
 * if (await main(["--windows", "zero"]) !== 2) throw new Error();
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let opts;
  try {
    const { values } = parseArgs({
      args,
      options: {
        windows: { type: "string" },
        miners: { type: "string" },
        cheat: { type: "string" },
        backend: { type: "string" },
        mode: { type: "string" },
        store: { type: "string" },
        dir: { type: "string" },
        groups: { type: "string" },
        env: { type: "string" },
        "max-tokens": { type: "string" },
        vocab: { type: "string" },
        "restart-validator-after": { type: "string" },
        "no-trainer": { type: "boolean" },
        verbose: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const maxTokens = positiveInt("max-tokens", values["max-tokens"], 40);
    if (maxTokens < 32) {
      throw new RangeError(
        `Invalid --max-tokens ${maxTokens}: a rollout needs ≥ 32 completion tokens`,
      );
    }
    opts = {
      windows: positiveInt("windows", values.windows, 2),
      honestMiners: positiveInt("miners", values.miners, 2),
      cheat: values.cheat === undefined || values.cheat === "none"
        ? (values.cheat === "none" ? "none" as const : "zero-sketch" as const)
        : parseCheat(values.cheat),
      backend: oneOf("backend", values.backend, ["webgpu", "cpu", "cuda"] as const, "webgpu"),
      mode: oneOf("mode", values.mode, ["strict", "compat"] as const, "strict"),
      store: oneOf("store", values.store, ["folder", "s3"] as const, "folder"),
      dir: values.dir ?? "./.grail/devnet",
      groupsPerWindow: positiveInt("groups", values.groups, 1),
      env: oneOf("env", values.env, ["sat", "echo-digit"] as const, "sat"),
      maxTokens,
      vocab: oneOf("vocab", values.vocab, ["cut", "full"] as const, "cut"),
      restartValidatorAfter: values["restart-validator-after"] === undefined
        ? undefined
        : positiveInt("restart-validator-after", values["restart-validator-after"], 1),
      verbose: values.verbose === true,
      trainer: values["no-trainer"] !== true,
    };
  } catch (e) {
    console.error(`grail devnet: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const progress = new Progress({ tty: Deno.stdout.isTerminal() });
  const stop = new AbortController();
  const onSignal = () => {
    progress.clear();
    console.error("grail devnet: stopping (signal received)…");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const result = await runDevnet({
      ...opts,
      print: (line) => progress.print(line),
      status: (text) => progress.status(text),
      echoLog: opts.verbose ? (line) => progress.printErr(line) : undefined,
      signal: stop.signal,
    });
    progress.clear();
    if (opts.env === "echo-digit") {
      // The teaching env measures learning, not payment: the validator's distribution check
      // rejects the temperature-1 samples of the random start (docs/train.md).
      const groups = result.trainerReports.reduce((a, r) => a + r.groups, 0);
      const first = result.rewards[0], last = result.rewards[result.rewards.length - 1];
      console.log(
        first === undefined
          ? `result: no honest rollouts were validated; the trainer trained ${groups} group(s)`
          : `result: mean reward ${first.meanReward.toFixed(3)} (window ${first.window}) → ${
            last.meanReward.toFixed(3)
          } (window ${last.window}); the trainer trained ${groups} group(s)`,
      );
      return groups > 0 ? 0 : 1;
    }
    const honest = result.participants.filter((p) => p.kind === "honest");
    const cheater = result.participants.find((p) => p.kind === "cheater");
    const w = (uid: number) => result.finalWeights?.find((x) => x.uid === uid)?.u16 ?? 0;
    const ok = result.finalWeights !== null && honest.every((p) => w(p.uid) > 0) &&
      (cheater === undefined || w(cheater.uid) === 0);
    const cheaterPaid = cheater !== undefined && w(cheater.uid) > 0;
    console.log(
      ok
        ? "result: every honest miner received weight" + (cheater ? " and the cheater none" : "")
        : cheaterPaid && opts.mode === "compat"
        ? `result: the cheater received weight: the reference's v5 rules accept the ${opts.cheat} cheat; --mode strict rejects it`
        : "result: UNEXPECTED weights (see the table above and devnet.log)",
    );
    return ok ? 0 : 1;
  } catch (e) {
    progress.clear();
    console.error(`grail devnet: ${(e as Error).message}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", onSignal);
  }
}
