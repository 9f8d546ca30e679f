/**
 * The `grail` command line: `deno task grail <subcommand> [options]`. A thin dispatcher; each
 * subcommand lives in `src/cli/<name>.ts` and exports `main(args): Promise<number>`.
 *
 * @module
 */

import { main as chain } from "../src/cli/chain.ts";
import { main as demo } from "../src/cli/demo.ts";
import { main as devnet } from "../src/cli/devnet.ts";
import { main as mine } from "../src/cli/mine.ts";
import { main as train } from "../src/cli/train.ts";
import { main as validate } from "../src/cli/validate.ts";
import { main as verify } from "../src/cli/verify.ts";

type Subcommand = { main: (args: string[]) => Promise<number>; summary: string };

// To add a subcommand: create src/cli/<name>.ts, import it above, add one line here.
const SUBCOMMANDS: Record<string, Subcommand> = {
  chain: { main: chain, summary: "chain reads and set-weights: block, metagraph, commitments" },
  demo: {
    main: demo,
    summary: "commit to seeded hidden states, sign, and verify (self-contained)",
  },
  devnet: {
    main: devnet,
    summary: "run a local network: chain, buckets, beacon, miners, validator",
  },
  mine: { main: mine, summary: "run the miner against a subnet (wallet, R2 bucket, .env)" },
  train: { main: train, summary: "run the GRPO trainer: train each window, publish checkpoints" },
  validate: { main: validate, summary: "run the validator: verify miners' windows, set weights" },
  verify: { main: verify, summary: "verify a window file's rollouts against a checkpoint" },
};

function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((n) => n.length));
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) =>
    `  ${name.padEnd(width)}  ${s.summary}`
  );
  return ["Usage: grail <subcommand> [options]", "", "Subcommands:", ...lines].join("\n");
}

async function run(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  // Own keys only: "constructor" or "toString" must not reach Object.prototype.
  const subcommand = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (subcommand === undefined) {
    console.error(`grail: unknown subcommand ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  return await subcommand.main(rest);
}

if (import.meta.main) Deno.exit(await run(Deno.args));
