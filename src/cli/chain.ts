/**
 * `grail chain …`: operator commands against any chain endpoint.
 *
 * ```
 * grail chain block       [--network N] [--block B] [--json]
 * grail chain metagraph   [--network N] --netuid U [--json]
 * grail chain commitments [--network N] --netuid U [--json] [--show-secrets]
 * grail chain set-weights [--network N] --netuid U --uids 0,1,… --weights 0.9,0.1,…
 *                         (--seed URI | --wallet NAME --hotkey NAME) [--version-key K]
 * ```
 *
 * `--network` is `finney` (default), `test`, `archive`, `local`, `latent-lite` or a `ws://`/`wss://`
 * URL, as in the reference SDK.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { type Chain, type ChainSigner, resolveNetwork } from "../net/chain.ts";
import { ChainError } from "../net/chain_errors.ts";
import { SubstrateChain } from "../net/substrate_chain.ts";
import { decodeCommitment } from "../net/credentials.ts";
import { WalletError } from "../net/errors.ts";
import { defaultWalletRoot, loadHotkey } from "../net/wallet.ts";
import { SDK_VERSION_KEY } from "../net/weights_u16.ts";

/** Where the command writes and how it reaches a chain; tests replace these. */
export interface ChainCliIo {
  /** Receives each output line (without newline). */
  stdout: (line: string) => void;
  /** Receives each error line (without newline). */
  stderr: (line: string) => void;
  /** Opens the chain at an endpoint URL; default {@linkcode SubstrateChain.connect}. */
  connect: (endpoint: string, timeoutMs: number) => Promise<Chain>;
  /** Wallets folder when `--wallet-path` is absent; default `$HOME/.bittensor/wallets`. */
  walletRoot?: () => string;
}

const USAGE = [
  "usage: grail chain <block|metagraph|commitments|set-weights> [options]",
  "  --network NAME|URL   finney (default), test, archive, local, latent-lite, ws://… or wss://…",
  "  --netuid N           subnet (metagraph, commitments, set-weights)",
  "  --block B            block for `block` (default: the head)",
  "  --json               one JSON object on stdout",
  "  --show-secrets       commitments: print read secrets instead of [redacted]",
  "  --uids LIST          set-weights: comma-separated uids",
  "  --weights LIST       set-weights: comma-separated non-negative floats, aligned with --uids",
  "  --seed URI           set-weights: hotkey from a dev URI such as //Alice (local chains)",
  "  --wallet NAME --hotkey NAME   set-weights: hotkey from a Bittensor wallet folder",
  "  --wallet-path DIR    wallets folder (default ~/.bittensor/wallets)",
  "  --version-key K      set-weights: default 9012001 (bittensor 9.12.1)",
  "  --timeout-ms MS      per-call timeout (default 15000)",
].join("\n");

const DEFAULT_IO: ChainCliIo = {
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
  connect: (endpoint, timeoutMs) =>
    SubstrateChain.connect(endpoint, { callTimeoutMs: timeoutMs, reconnectDelayMs: 0 }),
  walletRoot: () => defaultWalletRoot(Deno.env.toObject()),
};

/**
 * Entry point of `grail chain`.
 *
 * @param args Arguments after `chain`.
 * @returns The exit code: 0 on success, 1 on a chain failure, 2 on a usage error.
 *
 * @example Usage errors exit with 2
 * ```ts
 * import { main } from "./chain.ts";
 * import { strictEqual } from "node:assert/strict";
 * const original = console.error;
 * console.error = () => {};
 * try {
 *   strictEqual(await main(["frobnicate"]), 2);
 * } finally {
 *   console.error = original;
 * }
 * ```
 */
export function main(args: string[]): Promise<number> {
  return runChainCli(args, DEFAULT_IO);
}

/**
 * `grail chain` with its output and chain connection injected.
 *
 * @param args Arguments after `chain`.
 * @param io Output sinks and the chain opener.
 * @returns The exit code: 0 on success, 1 on a chain failure, 2 on a usage error.
 *
 * @example Against the in-process local chain
 * ```ts
 * import { runChainCli } from "./chain.ts";
 * import { LocalChain } from "../net/local_chain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const chain = new LocalChain({ blockTimeMs: 1000, genesisMs: 0, clock: {
 *   nowMs: () => 12_000, sleep: () => Promise.resolve() } });
 * const lines: string[] = [];
 * const code = await runChainCli(["block", "--json"], {
 *   stdout: (line) => lines.push(line), stderr: () => {}, connect: () => Promise.resolve(chain) });
 * strictEqual(code, 0);
 * strictEqual(JSON.parse(lines[0]).block, 12);
 * ```
 */
export async function runChainCli(args: string[], io: ChainCliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        network: { type: "string", default: "finney" },
        netuid: { type: "string" },
        block: { type: "string" },
        json: { type: "boolean", default: false },
        "show-secrets": { type: "boolean", default: false },
        uids: { type: "string" },
        weights: { type: "string" },
        seed: { type: "string" },
        wallet: { type: "string" },
        hotkey: { type: "string" },
        "wallet-path": { type: "string" },
        "version-key": { type: "string" },
        "timeout-ms": { type: "string", default: "15000" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return usageError(io, (error as Error).message);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  const commands = ["block", "metagraph", "commitments", "set-weights"];
  if (command === undefined || !commands.includes(command) || positionals.length > 1) {
    return usageError(
      io,
      `Unknown or missing subcommand ${JSON.stringify(positionals.join(" "))}; expected one of ${
        commands.join(", ")
      }`,
    );
  }
  let endpoint: string;
  let timeoutMs: number;
  let netuid: number | undefined;
  let signerSpec: (() => Promise<ChainSigner>) | undefined;
  let weightArgs: { uids: number[]; weights: number[]; versionKey: number } | undefined;
  let block: number | undefined;
  try {
    endpoint = resolveNetwork(values.network);
    timeoutMs = parseInteger("--timeout-ms", values["timeout-ms"], 1);
    if (values.block !== undefined) block = parseInteger("--block", values.block, 0);
    if (command !== "block") {
      if (values.netuid === undefined) throw new RangeError(`--netuid is required for ${command}`);
      netuid = parseInteger("--netuid", values.netuid, 0, 65535);
    }
    if (command === "set-weights") {
      weightArgs = {
        uids: parseList("--uids", values.uids).map((v) => parseInteger("--uids", v, 0, 65535)),
        weights: parseList("--weights", values.weights).map((v) => parseFloatStrict(v)),
        versionKey: values["version-key"] === undefined
          ? SDK_VERSION_KEY
          : parseInteger("--version-key", values["version-key"], 0),
      };
      signerSpec = signerFrom(
        values.seed,
        values.wallet,
        values.hotkey,
        values["wallet-path"] ?? io.walletRoot,
      );
    }
  } catch (error) {
    if (error instanceof RangeError) return usageError(io, error.message);
    throw error;
  }

  let chain: Chain | undefined;
  try {
    chain = await io.connect(endpoint, timeoutMs);
    switch (command) {
      case "block":
        await showBlock(chain, block, values.json, io);
        break;
      case "metagraph":
        await showMetagraph(chain, netuid!, values.json, io);
        break;
      case "commitments":
        await showCommitments(chain, netuid!, values.json, values["show-secrets"], io);
        break;
      case "set-weights": {
        const signer = await signerSpec!();
        const receipt = await chain.setWeights(
          netuid!,
          signer,
          weightArgs!.uids,
          weightArgs!.weights,
          { versionKey: weightArgs!.versionKey },
        );
        if (values.json) io.stdout(JSON.stringify(receipt));
        else {
          io.stdout(
            `set weights for ${signer.address} on subnet ${netuid} in block ${receipt.block} ` +
              `(${receipt.blockHash}), version key ${receipt.versionKey}`,
          );
          io.stdout(`uids    ${receipt.uids.join(",")}`);
          io.stdout(`weights ${receipt.weights.join(",")}`);
        }
        break;
      }
    }
    return 0;
  } catch (error) {
    if (error instanceof ChainError || error instanceof WalletError) {
      io.stderr(`grail chain ${command}: ${error.message} [${error.code}]`);
      return 1;
    }
    if (error instanceof RangeError) return usageError(io, error.message);
    throw error;
  } finally {
    await chain?.close();
  }
}

async function showBlock(chain: Chain, block: number | undefined, json: boolean, io: ChainCliIo) {
  const head = await chain.currentBlock();
  const number = block ?? head;
  const hash = await chain.blockHash(number);
  const timestampMs = await chain.blockTimestampMs(number);
  if (json) {
    io.stdout(JSON.stringify({ block: number, head, hash, timestampMs }));
    return;
  }
  io.stdout(`block     ${number}${number === head ? " (head)" : ` (head ${head})`}`);
  io.stdout(`hash      ${hash}`);
  io.stdout(`timestamp ${new Date(timestampMs).toISOString()} (${timestampMs} ms)`);
  io.stdout(`window    ${Math.floor(number / 30) * 30}`);
}

async function showMetagraph(chain: Chain, netuid: number, json: boolean, io: ChainCliIo) {
  const m = await chain.metagraph(netuid);
  if (json) {
    io.stdout(JSON.stringify(m));
    return;
  }
  io.stdout(`subnet ${netuid} at block ${m.block}: ${m.uids.length} uids`);
  io.stdout(
    ["uid", "hotkey", "coldkey", "stake(TAO)", "incentive", "last_update", "permit"].join("\t"),
  );
  for (const uid of m.uids) {
    io.stdout(
      [
        uid,
        m.hotkeys[uid],
        m.coldkeys[uid],
        m.stake[uid].toFixed(4),
        m.incentive[uid].toFixed(6),
        m.lastUpdate[uid],
        m.validatorPermit[uid] ? "yes" : "no",
      ].join("\t"),
    );
  }
}

async function showCommitments(
  chain: Chain,
  netuid: number,
  json: boolean,
  showSecrets: boolean,
  io: ChainCliIo,
) {
  const [commitments, metagraph] = await Promise.all([
    chain.commitments(netuid),
    chain.metagraph(netuid),
  ]);
  const uidOf = new Map(metagraph.hotkeys.map((hotkey, uid) => [hotkey, uid]));
  const rows = commitments.map((c) => {
    const row: Record<string, unknown> = {
      uid: uidOf.get(c.hotkey) ?? null,
      hotkey: c.hotkey,
      block: c.block,
    };
    try {
      const credentials = decodeCommitment(c.data);
      row.accountId = credentials.accountId;
      row.accessKeyId = credentials.read.accessKeyId;
      row.secret = showSecrets ? credentials.read.secretAccessKey : "[redacted]";
    } catch {
      // Not an R2 read credential (the reference ignores such commitments); show it as is.
      row.data = c.data;
    }
    return row;
  });
  rows.sort((a, b) => ((a.uid as number) ?? Infinity) - ((b.uid as number) ?? Infinity));
  if (json) {
    io.stdout(JSON.stringify(rows));
    return;
  }
  io.stdout(`subnet ${netuid}: ${rows.length} commitments`);
  for (const row of rows) {
    const what = row.accountId !== undefined
      ? `account ${row.accountId} key ${row.accessKeyId} secret ${row.secret}`
      : `data ${JSON.stringify(row.data)} (not an R2 read credential)`;
    io.stdout(`uid ${row.uid ?? "-"}\t${row.hotkey}\tblock ${row.block}\t${what}`);
  }
}

function signerFrom(
  seed: string | undefined,
  wallet: string | undefined,
  hotkey: string | undefined,
  walletRoot: string | (() => string) | undefined,
): () => Promise<ChainSigner> {
  if (seed !== undefined && (wallet !== undefined || hotkey !== undefined)) {
    throw new RangeError("Pass either --seed or --wallet with --hotkey, not both");
  }
  if (seed !== undefined) {
    return async () => {
      await cryptoWaitReady();
      try {
        return new Keyring({ type: "sr25519", ss58Format: 42 }).addFromUri(seed);
      } catch (cause) {
        throw new RangeError(
          `--seed is not a valid secret URI (${(cause as Error).message}); expected e.g. //Alice`,
        );
      }
    };
  }
  if (wallet !== undefined || hotkey !== undefined) {
    if (wallet === undefined || hotkey === undefined) {
      throw new RangeError("--wallet and --hotkey go together; pass both");
    }
    return () => {
      const root = typeof walletRoot === "function" ? walletRoot() : walletRoot;
      if (root === undefined) throw new RangeError("No wallets folder; pass --wallet-path");
      return loadHotkey({ root, name: wallet, hotkey });
    };
  }
  throw new RangeError("set-weights needs a signer: --seed URI, or --wallet NAME --hotkey NAME");
}

function usageError(io: ChainCliIo, message: string): number {
  io.stderr(`grail chain: ${message}`);
  io.stderr(USAGE);
  return 2;
}

function parseInteger(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const parsed = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new RangeError(
      `${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}

function parseFloatStrict(value: string): number {
  const parsed = value.trim() === "" ? NaN : Number(value);
  if (!Number.isFinite(parsed)) {
    throw new RangeError(`--weights entries must be finite numbers, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function parseList(name: string, value: string | undefined): string[] {
  if (value === undefined || value.trim() === "") {
    throw new RangeError(`${name} is required for set-weights (comma-separated)`);
  }
  return value.split(",");
}
