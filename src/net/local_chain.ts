/**
 * An in-process chain for the local network, with the semantics of subtensor that GRAIL relies
 * on: a block every `blockTimeMs` of an injected clock, deterministic `0x…` block hashes,
 * `Timestamp.Now`-style block timestamps, registration with uid assignment, commitments,
 * weights (converted to u16 exactly like the SDK) and a metagraph.
 *
 * Simplifications (documented, deliberate):
 * - Blocks are derived from the clock, not produced by a timer: block `b` exists once
 *   `clock.nowMs() >= genesisMs + b·blockTimeMs`, and its timestamp is exactly that instant.
 *   Nothing runs in the background, so there is nothing to stop.
 * - An extrinsic takes effect at once, recorded at the current head (a node includes it in the
 *   next block).
 * - Incentive is a stake-weighted vote computed whenever the metagraph is read, not Yuma
 *   consensus once per tempo: each weight row is normalised to sum 1, each setter votes with
 *   its share of the setters' stake (equal shares when none has stake), `incentive[j]` is the
 *   sum of votes for `j`, quantised to u16 like the chain stores it. No bonds, no clipping.
 * - A validator permit is held by every uid with stake > 0 (the chain keeps the top-k by stake).
 * - A full subnet refuses registration (`subnet_full`); the chain would prune the lowest uid.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type {
  Chain,
  ChainReceipt,
  ChainSigner,
  Clock,
  Commitment,
  Metagraph,
  SetWeightsOptions,
  SetWeightsReceipt,
} from "./chain.ts";
import { ChainError } from "./chain_errors.ts";
import { SYSTEM_CLOCK } from "./retry.ts";
import { checkCommitmentData, checkDestinations } from "./_chain_checks.ts";
import { convertWeightsForEmit, roundHalfEven, SDK_VERSION_KEY, U16_MAX } from "./weights_u16.ts";

/** Options of {@linkcode LocalChain}. */
export interface LocalChainOptions {
  /** Milliseconds per block (subtensor: 12000; the local network uses less). */
  blockTimeMs: number;
  /** Time source; default the system clock. */
  clock?: Clock;
  /** Timestamp of block 0; default `clock.nowMs()` at construction. */
  genesisMs?: number;
  /** Seed of the block hashes; chains with different seeds never share a hash. Default `grail-local`. */
  seed?: string;
}

/** Per-subnet parameters of the local chain (subtensor storage names in brackets). */
export interface LocalSubnetOptions {
  /** Most uids (`MaxAllowedUids`); default 256. */
  maxUids?: number;
  /** Blocks between two weight updates of a uid (`WeightsSetRateLimit`); default 0. */
  weightsSetRateLimit?: number;
  /** Lowest accepted version key (`WeightsVersionKey`); default 0. */
  weightsVersionKey?: number;
  /** Whether weights must go through commit-reveal (`CommitRevealWeightsEnabled`); default false. */
  commitRevealWeightsEnabled?: boolean;
}

interface Neuron {
  hotkey: string;
  coldkey: string;
  stakeRao: bigint;
  lastUpdate: number;
  weights: { uids: number[]; weights: number[] } | null;
  commitment: { data: string; block: number } | null;
}

interface Subnet {
  params: Required<LocalSubnetOptions>;
  neurons: Neuron[];
}

const RAO_PER_TAO = 1_000_000_000;

/**
 * The in-process chain. All reads and writes are synchronous underneath; the `Promise` API
 * matches {@linkcode Chain}.
 *
 * @example A subnet with two neurons, a commitment and weights
 * ```ts
 * import { LocalChain } from "./local_chain.ts";
 * import { Keyring } from "@polkadot/keyring";
 * import { cryptoWaitReady } from "@polkadot/util-crypto";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 *
 * await cryptoWaitReady();
 * const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
 * const [cold, hotA, hotB] = ["//Alice", "//Alice//a", "//Alice//b"].map((u) => keyring.addFromUri(u));
 * let nowMs = 0;
 * const chain = new LocalChain({ blockTimeMs: 1000, genesisMs: 0, clock: {
 *   nowMs: () => nowMs, sleep: (ms: number) => { nowMs += ms; return Promise.resolve(); } } });
 * chain.createSubnet(81);
 * strictEqual(await chain.register(81, hotA, cold), 0);
 * strictEqual(await chain.register(81, hotB, cold), 1);
 * nowMs = 5000;
 * await chain.setCommitment(81, hotB, "hello");
 * const receipt = await chain.setWeights(81, hotA, [0, 1], [0.9, 0.1]);
 * deepStrictEqual(receipt.weights, [65535, 7282]);
 * strictEqual(receipt.block, 5);
 * strictEqual((await chain.commitments(81))[0].data, "hello");
 * strictEqual((await chain.blockHash(5)).length, 66);
 * ```
 */
export class LocalChain implements Chain {
  /** Always `local`. */
  readonly endpoint: string = "local";
  readonly #blockTimeMs: number;
  readonly #clock: Clock;
  readonly #genesisMs: number;
  readonly #seed: string;
  readonly #subnets = new Map<number, Subnet>();

  /**
   * Creates a chain whose block 0 is at `genesisMs`; no subnet exists yet.
   *
   * @param options Block time, clock, genesis time and hash seed.
   * @throws {RangeError} When `blockTimeMs` is not a positive integer.
   */
  constructor(options: LocalChainOptions) {
    if (!Number.isInteger(options.blockTimeMs) || options.blockTimeMs <= 0) {
      throw new RangeError(
        `Block time must be a positive integer of milliseconds, got ${options.blockTimeMs}`,
      );
    }
    this.#blockTimeMs = options.blockTimeMs;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#genesisMs = options.genesisMs ?? this.#clock.nowMs();
    this.#seed = options.seed ?? "grail-local";
  }

  /**
   * Creates a subnet (the local counterpart of `register_network` plus sudo parameters).
   *
   * @param netuid Subnet id, a u16.
   * @param options Subnet parameters.
   * @throws {RangeError} When `netuid` is not a u16 or the subnet exists.
   */
  createSubnet(netuid: number, options: LocalSubnetOptions = {}): void {
    checkU16("netuid", netuid);
    if (this.#subnets.has(netuid)) throw new RangeError(`Subnet ${netuid} exists already`);
    this.#subnets.set(netuid, {
      params: {
        maxUids: options.maxUids ?? 256,
        weightsSetRateLimit: options.weightsSetRateLimit ?? 0,
        weightsVersionKey: options.weightsVersionKey ?? 0,
        commitRevealWeightsEnabled: options.commitRevealWeightsEnabled ?? false,
      },
      neurons: [],
    });
  }

  /**
   * Adds stake to a registered hotkey (the local counterpart of `add_stake`).
   *
   * @param netuid Subnet id.
   * @param hotkey Hotkey SS58 address.
   * @param tao Amount in TAO, > 0 (kept in rao, rounded down).
   * @throws {ChainError} `subnet_not_found`, `not_registered`.
   * @throws {RangeError} When `tao` is not a positive finite number.
   */
  addStake(netuid: number, hotkey: string, tao: number): void {
    if (!Number.isFinite(tao) || tao <= 0) {
      throw new RangeError(`Stake must be a positive number of TAO, got ${tao}`);
    }
    this.#neuron(netuid, hotkey).stakeRao += BigInt(Math.floor(tao * RAO_PER_TAO));
  }

  currentBlock(): Promise<number> {
    return Promise.resolve(this.#head());
  }

  blockHash(block: number): Promise<string> {
    return Promise.resolve().then(() => {
      this.#checkBlock(block);
      const digest = sha256(new TextEncoder().encode(`${this.#seed}:${block}`));
      return "0x" + bytesToHex(digest);
    });
  }

  blockTimestampMs(block: number): Promise<number> {
    return Promise.resolve().then(() => {
      this.#checkBlock(block);
      return this.#genesisMs + block * this.#blockTimeMs;
    });
  }

  metagraph(netuid: number): Promise<Metagraph> {
    return Promise.resolve().then(() => {
      const subnet = this.#subnet(netuid);
      const neurons = subnet.neurons;
      return {
        netuid,
        block: this.#head(),
        uids: neurons.map((_, uid) => uid),
        hotkeys: neurons.map((n) => n.hotkey),
        coldkeys: neurons.map((n) => n.coldkey),
        stake: neurons.map((n) => Number(n.stakeRao) / RAO_PER_TAO),
        incentive: incentives(neurons),
        lastUpdate: neurons.map((n) => n.lastUpdate),
        validatorPermit: neurons.map((n) => n.stakeRao > 0n),
        active: neurons.map(() => true),
      };
    });
  }

  uidOf(netuid: number, hotkey: string): Promise<number | null> {
    return Promise.resolve().then(() => {
      const uid = this.#subnet(netuid).neurons.findIndex((n) => n.hotkey === hotkey);
      return uid < 0 ? null : uid;
    });
  }

  commitments(netuid: number): Promise<Commitment[]> {
    return Promise.resolve().then(() =>
      this.#subnet(netuid).neurons.flatMap((n) =>
        n.commitment === null ? [] : [{ hotkey: n.hotkey, ...n.commitment }]
      )
    );
  }

  setCommitment(netuid: number, hotkey: ChainSigner, data: string): Promise<ChainReceipt> {
    return Promise.resolve().then(() => {
      checkCommitmentData(data);
      const neuron = this.#neuron(netuid, hotkey.address);
      const block = this.#head();
      neuron.commitment = { data, block };
      return this.#receipt(block);
    });
  }

  setWeights(
    netuid: number,
    hotkey: ChainSigner,
    uids: readonly number[],
    weights: readonly number[],
    options: SetWeightsOptions = {},
  ): Promise<SetWeightsReceipt> {
    return Promise.resolve().then(() => {
      const subnet = this.#subnet(netuid);
      const emitted = convertWeightsForEmit(uids, weights);
      const versionKey = options.versionKey ?? SDK_VERSION_KEY;
      if (subnet.params.commitRevealWeightsEnabled) {
        throw new ChainError(
          "commit_reveal_required",
          `Subnet ${netuid} requires commit-reveal weights; this client does not implement ` +
            `timelocked commits`,
          { endpoint: this.endpoint },
        );
      }
      if (versionKey < subnet.params.weightsVersionKey) {
        throw new ChainError(
          "version_key_too_low",
          `Version key ${versionKey} is below subnet ${netuid}'s WeightsVersionKey ` +
            `${subnet.params.weightsVersionKey}; upgrade or pass a higher version key`,
          { endpoint: this.endpoint },
        );
      }
      const neuron = this.#neuron(netuid, hotkey.address);
      const head = this.#head();
      const limit = subnet.params.weightsSetRateLimit;
      if (head - neuron.lastUpdate < limit) {
        throw new ChainError(
          "rate_limited",
          `Weights of ${hotkey.address} on subnet ${netuid} were updated at block ` +
            `${neuron.lastUpdate}; the rate limit of ${limit} blocks allows the next update at ` +
            `block ${neuron.lastUpdate + limit} (head ${head})`,
          { endpoint: this.endpoint },
        );
      }
      checkDestinations(netuid, emitted.uids, subnet.neurons.length, this.endpoint);
      neuron.weights = emitted;
      neuron.lastUpdate = head;
      return { ...this.#receipt(head), ...emitted, versionKey };
    });
  }

  register(netuid: number, hotkey: ChainSigner, coldkey: ChainSigner): Promise<number> {
    return Promise.resolve().then(() => {
      const subnet = this.#subnet(netuid);
      if (subnet.neurons.some((n) => n.hotkey === hotkey.address)) {
        throw new ChainError(
          "already_registered",
          `Hotkey ${hotkey.address} is already registered on subnet ${netuid}`,
          { endpoint: this.endpoint },
        );
      }
      if (subnet.neurons.length >= subnet.params.maxUids) {
        throw new ChainError(
          "subnet_full",
          `Subnet ${netuid} has all ${subnet.params.maxUids} uids taken; create it with a ` +
            `larger maxUids`,
          { endpoint: this.endpoint },
        );
      }
      subnet.neurons.push({
        hotkey: hotkey.address,
        coldkey: coldkey.address,
        stakeRao: 0n,
        lastUpdate: this.#head(),
        weights: null,
        commitment: null,
      });
      return subnet.neurons.length - 1;
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #head(): number {
    return Math.max(0, Math.floor((this.#clock.nowMs() - this.#genesisMs) / this.#blockTimeMs));
  }

  #receipt(block: number): ChainReceipt {
    const digest = sha256(new TextEncoder().encode(`${this.#seed}:${block}`));
    return { block, blockHash: "0x" + bytesToHex(digest) };
  }

  #checkBlock(block: number): void {
    if (!Number.isInteger(block) || block < 0) {
      throw new RangeError(`Block number must be a non-negative integer, got ${block}`);
    }
    const head = this.#head();
    if (block > head) {
      throw new ChainError(
        "block_not_found",
        `Block ${block} does not exist yet on the local chain (head is ${head})`,
        { endpoint: this.endpoint },
      );
    }
  }

  #subnet(netuid: number): Subnet {
    const subnet = this.#subnets.get(netuid);
    if (subnet === undefined) {
      throw new ChainError(
        "subnet_not_found",
        `No subnet ${netuid} on the local chain (subnets: ${
          [...this.#subnets.keys()].join(", ") || "none"
        }); create it first`,
        { endpoint: this.endpoint },
      );
    }
    return subnet;
  }

  #neuron(netuid: number, hotkey: string): Neuron {
    const neuron = this.#subnet(netuid).neurons.find((n) => n.hotkey === hotkey);
    if (neuron === undefined) {
      throw new ChainError(
        "not_registered",
        `Hotkey ${hotkey} is not registered on subnet ${netuid}; register it first`,
        { endpoint: this.endpoint },
      );
    }
    return neuron;
  }
}

function checkU16(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > U16_MAX) {
    throw new RangeError(`${name} must be an integer in 0..65535, got ${value}`);
  }
}

function incentives(neurons: readonly Neuron[]): number[] {
  const setters = neurons.filter((n) => n.weights !== null && n.weights.weights.length > 0);
  const totalStake = setters.reduce((sum, n) => sum + Number(n.stakeRao), 0);
  const incentive = new Array<number>(neurons.length).fill(0);
  for (const setter of setters) {
    const vote = totalStake > 0 ? Number(setter.stakeRao) / totalStake : 1 / setters.length;
    const row = setter.weights!;
    const rowSum = row.weights.reduce((a, b) => a + b, 0);
    row.uids.forEach((uid, i) => {
      incentive[uid] += (vote * row.weights[i]) / rowSum;
    });
  }
  return incentive.map((value) => roundHalfEven(value * U16_MAX) / U16_MAX);
}
