/**
 * The chain as GRAIL uses it (infra spec §3): head block, block hashes as the exact `0x…` RPC
 * strings the protocol hashes, block timestamps, the metagraph, commitments and weights. Two
 * implementations share these semantics: `SubstrateChain` (`@polkadot/api` against a subtensor
 * node) and `LocalChain` (in-process, for the local network).
 *
 * @module
 */

import type { KeyringPair } from "@polkadot/keyring/types";
import { ChainError } from "./chain_errors.ts";
import { type Clock, SYSTEM_CLOCK } from "./retry.ts";

/** Time source and sleeps (from ./retry.ts): roles pass the system clock, tests a manual one. */
export type { Clock } from "./retry.ts";

/** The signer of extrinsics: an sr25519 key pair from `@polkadot/keyring` (see src/net/wallet.ts). */
export type ChainSigner = KeyringPair;

/**
 * The subset of a subnet's metagraph GRAIL reads (infra spec §3.3), one entry per uid, all
 * arrays aligned with `uids` (which is `0..n-1` in order).
 */
export interface Metagraph {
  /** The subnet. */
  netuid: number;
  /** Head block at which the metagraph was read. */
  block: number;
  /** Uids `0..n-1`. */
  uids: number[];
  /** Hotkey SS58 addresses (format 42). */
  hotkeys: string[];
  /** Coldkey SS58 addresses (format 42). */
  coldkeys: string[];
  /** Total stake per uid in TAO (rao / 1e9), the SDK's `S`. */
  stake: number[];
  /** Incentive per uid in [0, 1] (on-chain u16 / 65535). */
  incentive: number[];
  /** Block of each uid's last weight update (or registration). */
  lastUpdate: number[];
  /** Whether each uid holds a validator permit. */
  validatorPermit: boolean[];
  /** Whether each uid is active. */
  active: boolean[];
}

/** One hotkey's commitment on a subnet (Commitments pallet, infra spec §3.4). */
export interface Commitment {
  /** Committing hotkey, SS58. */
  hotkey: string;
  /** Block at which it was committed. */
  block: number;
  /**
   * The first field's bytes decoded as UTF-8 (the R2 read credential is 128 ASCII characters;
   * its codec lives in src/net/credentials.ts).
   */
  data: string;
}

/** What an included extrinsic returns. */
export interface ChainReceipt {
  /** Number of the block that included it. */
  block: number;
  /** Hash of that block, `0x…` lower-case. */
  blockHash: string;
}

/** A `set_weights` that went on chain. */
export interface SetWeightsReceipt extends ChainReceipt {
  /** Destination uids as sent (zero weights dropped). */
  uids: number[];
  /** u16 weights as sent, aligned with `uids`. */
  weights: number[];
  /** The version key sent. */
  versionKey: number;
}

/** Options of {@linkcode Chain.setWeights}. */
export interface SetWeightsOptions {
  /** Version key; default the reference SDK's 9012001. */
  versionKey?: number;
}

/**
 * A chain GRAIL can read and write. Every method throws {@linkcode ChainError} on failure (never
 * a sentinel); bad arguments throw `RangeError`.
 */
export interface Chain {
  /** Where the chain lives: a `ws://`/`wss://` URL, or `local` for the in-process chain. */
  readonly endpoint: string;
  /** Best (non-finalized) head block number (infra spec §1.2). */
  currentBlock(): Promise<number>;
  /**
   * Hash of block `block`, exactly as `chain_getBlockHash` returns it: `0x` + 64 lower-case hex.
   * Throws `block_not_found` for a block beyond the head.
   */
  blockHash(block: number): Promise<string>;
  /** `Timestamp.Now` at block `block`, in milliseconds since the Unix epoch. */
  blockTimestampMs(block: number): Promise<number>;
  /** The subnet's metagraph at the head. Throws `subnet_not_found`. */
  metagraph(netuid: number): Promise<Metagraph>;
  /** The uid of `hotkey` on the subnet, or `null` when it is not registered there. */
  uidOf(netuid: number, hotkey: string): Promise<number | null>;
  /** Every commitment on the subnet whose first field holds valid UTF-8 bytes. */
  commitments(netuid: number): Promise<Commitment[]>;
  /** Commits `data` (at most 128 UTF-8 bytes) for the signer's hotkey on the subnet. */
  setCommitment(netuid: number, hotkey: ChainSigner, data: string): Promise<ChainReceipt>;
  /**
   * Sets the hotkey's weights: floats converted to u16 exactly like the reference SDK
   * (src/net/weights_u16.ts). Refuses with `commit_reveal_required` on subnets that need
   * timelocked commit-reveal weights.
   */
  setWeights(
    netuid: number,
    hotkey: ChainSigner,
    uids: readonly number[],
    weights: readonly number[],
    options?: SetWeightsOptions,
  ): Promise<SetWeightsReceipt>;
  /** Registers `hotkey` (paid by `coldkey`) on the subnet and returns its uid. */
  register(netuid: number, hotkey: ChainSigner, coldkey: ChainSigner): Promise<number>;
  /** Releases the connection and every timer. Idempotent. */
  close(): Promise<void>;
}

/**
 * Endpoints of the reference SDK's network names (bittensor 9.12.1 `settings.NETWORK_MAP`).
 * `local` is a subtensor node on this machine, not the in-process `LocalChain`.
 */
export const NETWORK_ENDPOINTS: Readonly<Record<string, string>> = Object.freeze({
  finney: "wss://entrypoint-finney.opentensor.ai:443",
  test: "wss://test.finney.opentensor.ai:443",
  archive: "wss://archive.chain.opentensor.ai:443",
  local: "ws://127.0.0.1:9944",
  "latent-lite": "wss://lite.sub.latent.to:443",
});

/**
 * Resolves a network name or URL to a WebSocket endpoint, like the SDK does.
 *
 * @param network A name from {@linkcode NETWORK_ENDPOINTS} or a `ws://`/`wss://` URL.
 * @returns The endpoint URL.
 * @throws {RangeError} For anything else; the message lists the accepted names.
 *
 * @example
 * ```ts
 * import { resolveNetwork } from "./chain.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(resolveNetwork("finney"), "wss://entrypoint-finney.opentensor.ai:443");
 * strictEqual(resolveNetwork("ws://127.0.0.1:9957"), "ws://127.0.0.1:9957");
 * ```
 */
export function resolveNetwork(network: string): string {
  if (Object.hasOwn(NETWORK_ENDPOINTS, network)) return NETWORK_ENDPOINTS[network];
  if (/^wss?:\/\/[^\s/]+/.test(network)) return network;
  throw new RangeError(
    `Unknown network ${JSON.stringify(network.slice(0, 80))}: expected one of ${
      Object.keys(NETWORK_ENDPOINTS).join(", ")
    } or a ws:// or wss:// URL`,
  );
}

/** Options of {@linkcode waitForBlock} and {@linkcode watchBlocks}. */
export interface BlockWaitOptions {
  /** Time source and sleeps; default the system clock. */
  clock?: Clock;
  /** Head polling interval; default 2000 ms (the reference miner's poll). */
  pollMs?: number;
  /** Give up after this long (by `clock`); default: never. */
  timeoutMs?: number;
  /** Stops the wait; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Polls the head until it reaches `block`.
 *
 * @param chain The chain to poll.
 * @param block The block to wait for.
 * @param options Clock, poll interval, timeout and abort signal.
 * @returns The head block number, `>= block`.
 * @throws {ChainError} `timeout` when `timeoutMs` passes first; any error of `currentBlock`.
 *
 * @example Waiting on the local chain with a clock that jumps forward
 * ```ts
 * import { LocalChain } from "./local_chain.ts";
 * import { waitForBlock } from "./chain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * let nowMs = 0;
 * const clock = { nowMs: () => nowMs, sleep: (ms: number) => { nowMs += ms; return Promise.resolve(); } };
 * const chain = new LocalChain({ blockTimeMs: 1000, clock, genesisMs: 0 });
 * strictEqual(await waitForBlock(chain, 5, { clock, pollMs: 1000 }), 5);
 * ```
 */
export async function waitForBlock(
  chain: Chain,
  block: number,
  options: BlockWaitOptions = {},
): Promise<number> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const pollMs = options.pollMs ?? 2000;
  const startMs = clock.nowMs();
  while (true) {
    options.signal?.throwIfAborted();
    const head = await chain.currentBlock();
    if (head >= block) return head;
    if (options.timeoutMs !== undefined && clock.nowMs() - startMs >= options.timeoutMs) {
      throw new ChainError(
        "timeout",
        `Block ${block} not reached within ${options.timeoutMs} ms (head is ${head}); ` +
          `check that ${chain.endpoint} is producing blocks`,
        { endpoint: chain.endpoint },
      );
    }
    await clock.sleep(pollMs, options.signal);
  }
}

/**
 * Yields every new head block number once, in order, starting after the head at the first poll
 * (blocks produced between two polls are all yielded).
 *
 * @param chain The chain to watch.
 * @param options Clock, poll interval and abort signal (`timeoutMs` is ignored).
 * @returns An async iterator of block numbers; stop it with `break` or the signal.
 * @throws {ChainError} Any error of `currentBlock`.
 *
 * @example Three blocks on the local chain
 * ```ts
 * import { LocalChain } from "./local_chain.ts";
 * import { watchBlocks } from "./chain.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * let nowMs = 0;
 * const clock = { nowMs: () => nowMs, sleep: (ms: number) => { nowMs += ms; return Promise.resolve(); } };
 * const chain = new LocalChain({ blockTimeMs: 500, clock, genesisMs: 0 });
 * const seen: number[] = [];
 * for await (const block of watchBlocks(chain, { clock, pollMs: 1000 })) {
 *   seen.push(block);
 *   if (seen.length === 3) break;
 * }
 * deepStrictEqual(seen, [1, 2, 3]);
 * ```
 */
export async function* watchBlocks(
  chain: Chain,
  options: BlockWaitOptions = {},
): AsyncGenerator<number, void, undefined> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const pollMs = options.pollMs ?? 2000;
  let last = await chain.currentBlock();
  while (true) {
    await clock.sleep(pollMs, options.signal);
    const head = await chain.currentBlock();
    for (let block = last + 1; block <= head; block++) yield block;
    if (head > last) last = head;
  }
}
