/**
 * {@linkcode Chain} over `@polkadot/api` against a subtensor node (infra spec §3.7): every call
 * has a timeout and fails with a {@linkcode ChainError}; a dropped connection rejects the calls in
 * flight at once (`connection_lost`) and is re-opened in the background after a delay.
 *
 * Commit-reveal: when `CommitRevealWeightsEnabled` is on for the subnet, {@linkcode
 * SubstrateChain.setWeights} refuses with `commit_reveal_required` instead of sending plain
 * weights the chain would reject; timelocked (drand) commits are not implemented.
 *
 * @module
 */

import { ApiPromise, type SubmittableResult, WsProvider } from "@polkadot/api";
import type { SubmittableExtrinsic } from "@polkadot/api/types";
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
import { ChainError, type ChainErrorCode } from "./chain_errors.ts";
import { SYSTEM_CLOCK, withTimeout } from "./retry.ts";
import { convertWeightsForEmit, SDK_VERSION_KEY } from "./weights_u16.ts";
import { checkCommitmentData, checkDestinations } from "./_chain_checks.ts";

/** Options of {@linkcode SubstrateChain.connect}; defaults follow the reference (infra spec §3). */
export interface SubstrateChainOptions {
  /** Per-call timeout (`BT_CALL_TIMEOUT`); default 15000 ms, doubled for the metagraph. */
  callTimeoutMs?: number;
  /** Time allowed to open the socket and load metadata; default 30000 ms. */
  connectTimeoutMs?: number;
  /** Time allowed for an extrinsic to be included in a block; default 120000 ms. */
  txTimeoutMs?: number;
  /** Delay before re-opening a dropped connection; 0 turns reconnection off. Default 2500 ms. */
  reconnectDelayMs?: number;
  /** Mortality of extrinsics in blocks (the SDK's `period`); default 8. */
  eraPeriod?: number;
  /** Clock driving the timeouts and the reconnect delay; default the system clock. */
  clock?: Clock;
  /**
   * Runtime API for {@linkcode SubstrateChain.metagraph}: `get_metagraph` (total stake, the SDK's
   * `S`), `get_neurons_lite` (stake summed over the hotkey's stakers, alpha only) or `auto`
   * (the first the runtime has, in that order). Default `auto`.
   */
  metagraphSource?: "auto" | "get_metagraph" | "get_neurons_lite";
}

// deno-lint-ignore no-explicit-any
type AnyCodec = any;

const RAO_PER_TAO = 1_000_000_000;
const U16_MAX = 65535;

/**
 * A subtensor node reached through `@polkadot/api`. Create it with
 * {@linkcode SubstrateChain.connect}; always {@linkcode SubstrateChain.close} it (in `finally`).
 *
 * @example Connecting to an endpoint that refuses fails fast with a ChainError
 * ```ts
 * import { SubstrateChain } from "./substrate_chain.ts";
 * import { ChainError } from "./chain_errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = (listener.addr as Deno.NetAddr).port;
 * listener.close(); // nothing listens on this port now
 * try {
 *   await SubstrateChain.connect(`ws://127.0.0.1:${port}`, { connectTimeoutMs: 5000 });
 *   throw new Error("connected to a closed port");
 * } catch (error) {
 *   strictEqual((error as ChainError).code, "connect_failed");
 * }
 * ```
 */
export class SubstrateChain implements Chain {
  readonly endpoint: string;
  readonly #api: ApiPromise;
  readonly #provider: WsProvider;
  readonly #options: Required<SubstrateChainOptions>;
  readonly #closing = new AbortController();
  #socketOpen = true;
  #closed = false;

  private constructor(
    endpoint: string,
    api: ApiPromise,
    provider: WsProvider,
    options: Required<SubstrateChainOptions>,
  ) {
    this.endpoint = endpoint;
    this.#api = api;
    this.#provider = provider;
    this.#options = options;
    provider.on("disconnected", () => {
      this.#socketOpen = false;
      this.#scheduleReconnect();
    });
  }

  /**
   * Opens a connection and loads the runtime metadata.
   *
   * @param endpoint A `ws://` or `wss://` URL (see `resolveNetwork` in ./chain.ts for names).
   * @param options Timeouts, reconnect delay, extrinsic mortality and clock.
   * @returns A connected chain.
   * @throws {ChainError} `connect_failed` when the socket cannot be opened, the handshake or
   *   metadata load fails, or `connectTimeoutMs` passes first.
   */
  static async connect(
    endpoint: string,
    options: SubstrateChainOptions = {},
  ): Promise<SubstrateChain> {
    const resolved: Required<SubstrateChainOptions> = {
      callTimeoutMs: options.callTimeoutMs ?? 15_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
      txTimeoutMs: options.txTimeoutMs ?? 120_000,
      reconnectDelayMs: options.reconnectDelayMs ?? 2500,
      eraPeriod: options.eraPeriod ?? 8,
      clock: options.clock ?? SYSTEM_CLOCK,
      metagraphSource: options.metagraphSource ?? "auto",
    };
    // Reconnection is ours (see #scheduleReconnect), so the provider never keeps a timer of its
    // own alive after close().
    const provider = new WsProvider(endpoint, false, {}, resolved.callTimeoutMs);
    let api: ApiPromise | null = null;
    let socketOpen = false;
    const disconnected = new Promise<void>((resolve) => provider.on("disconnected", resolve));
    try {
      await provider.connect();
      socketOpen = true;
      const created = new ApiPromise({ provider, noInitWarn: true, throwOnConnect: true });
      api = created;
      await withTimeout(
        () => created.isReadyOrError,
        resolved.connectTimeoutMs,
        () =>
          new ChainError(
            "connect_failed",
            `No usable connection to ${endpoint} within ${resolved.connectTimeoutMs} ms; check ` +
              `that a subtensor node listens there`,
            { endpoint },
          ),
        resolved.clock,
      );
      return new SubstrateChain(endpoint, created, provider, resolved);
    } catch (error) {
      if (api !== null) await Promise.allSettled([api.disconnect()]);
      else await Promise.allSettled([provider.disconnect()]);
      if (socketOpen) await settleWithin(disconnected, 5000, resolved.clock);
      if (error instanceof ChainError) throw error;
      throw new ChainError(
        "connect_failed",
        `Cannot connect to ${endpoint}: ${errorMessage(error)}; check the URL and that a ` +
          `subtensor node listens there`,
        { endpoint, cause: error },
      );
    }
  }

  /** Whether the socket is open right now. */
  get isConnected(): boolean {
    return this.#provider.isConnected;
  }

  /**
   * Resolves once the socket is open (at once when it is), e.g. after a background reconnect.
   *
   * @returns A promise that settles when connected.
   * @throws {ChainError} `connection_lost` when the client is closed first.
   */
  whenConnected(): Promise<void> {
    if (this.#provider.isConnected) return Promise.resolve();
    if (this.#closed) return Promise.reject(this.#closing.signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onClose = () => {
        off();
        reject(this.#closing.signal.reason);
      };
      const off = this.#provider.on("connected", () => {
        off();
        this.#closing.signal.removeEventListener("abort", onClose);
        resolve();
      });
      this.#closing.signal.addEventListener("abort", onClose, { once: true });
    });
  }

  currentBlock(): Promise<number> {
    return this.#call("chain_getHeader", async () => {
      const header = await this.#api.rpc.chain.getHeader();
      return header.number.toNumber();
    });
  }

  async blockHash(block: number): Promise<string> {
    checkBlockNumber(block);
    const hash = await this.#call(
      `chain_getBlockHash(${block})`,
      () => this.#api.rpc.chain.getBlockHash(block),
    );
    // The RPC answers null for a block it does not have; the codec turns that into zeros.
    if (hash.isEmpty) {
      throw new ChainError(
        "block_not_found",
        `Block ${block} is not known to ${this.endpoint} (beyond the head)`,
        { endpoint: this.endpoint },
      );
    }
    return hash.toHex().toLowerCase();
  }

  async blockTimestampMs(block: number): Promise<number> {
    const hash = await this.blockHash(block);
    try {
      return await this.#call(`Timestamp.Now at ${block}`, async () => {
        const at = await this.#api.at(hash);
        return ((await at.query.timestamp.now()) as AnyCodec).toNumber() as number;
      });
    } catch (storageError) {
      if (storageError instanceof ChainError && storageError.code !== "rpc_failed") {
        throw storageError;
      }
      // Pruned state on a non-archive node: the block body's Timestamp.set inherent carries it
      // too (infra spec §3.5 fallback).
      return await this.#call(`Timestamp.set in block ${block}`, async () => {
        const signed = await this.#api.rpc.chain.getBlock(hash);
        for (const extrinsic of signed.block.extrinsics) {
          const { section, method } = extrinsic.method;
          if (section === "timestamp" && method === "set") {
            return (extrinsic.method.args[0] as AnyCodec).toNumber() as number;
          }
        }
        throw new ChainError(
          "rpc_failed",
          `Block ${block} has neither readable Timestamp.Now state nor a Timestamp.set ` +
            `inherent`,
          { endpoint: this.endpoint, cause: storageError },
        );
      });
    }
  }

  async metagraph(netuid: number): Promise<Metagraph> {
    const block = await this.currentBlock();
    const call = this.#api.call as AnyCodec;
    const timeoutMs = this.#options.callTimeoutMs * 2;
    const source = this.#options.metagraphSource;
    if (source !== "get_neurons_lite" && call.subnetInfoRuntimeApi?.getMetagraph !== undefined) {
      const result = await this.#call(
        `SubnetInfoRuntimeApi.get_metagraph(${netuid})`,
        () => call.subnetInfoRuntimeApi.getMetagraph(netuid) as Promise<AnyCodec>,
        timeoutMs,
      );
      if (result.isNone) throw this.#noSubnet(netuid);
      const info = result.unwrap();
      const hotkeys: string[] = info.hotkeys.map((key: AnyCodec) => key.toString());
      return {
        netuid,
        block,
        uids: hotkeys.map((_, uid) => uid),
        hotkeys,
        coldkeys: info.coldkeys.map((key: AnyCodec) => key.toString()),
        stake: info.totalStake.map((rao: AnyCodec) => raoToTao(toBigInt(rao))),
        incentive: info.incentives.map((value: AnyCodec) => Number(toBigInt(value)) / U16_MAX),
        lastUpdate: info.lastUpdate.map((value: AnyCodec) => Number(toBigInt(value))),
        validatorPermit: info.validatorPermit.map((value: AnyCodec) => value.isTrue as boolean),
        active: info.active.map((value: AnyCodec) => value.isTrue as boolean),
      };
    }
    if (source !== "get_metagraph" && call.neuronInfoRuntimeApi?.getNeuronsLite !== undefined) {
      const exists = await this.#call(
        `SubtensorModule.NetworksAdded(${netuid})`,
        () => this.#query("subtensorModule", "networksAdded")(netuid),
      );
      if (!(exists as AnyCodec).isTrue) throw this.#noSubnet(netuid);
      const neurons: AnyCodec[] = await this.#call(
        `NeuronInfoRuntimeApi.get_neurons_lite(${netuid})`,
        () => call.neuronInfoRuntimeApi.getNeuronsLite(netuid) as Promise<AnyCodec>,
        timeoutMs,
      );
      const sorted = [...neurons].sort((a, b) => Number(toBigInt(a.uid) - toBigInt(b.uid)));
      return {
        netuid,
        block,
        uids: sorted.map((n) => Number(toBigInt(n.uid))),
        hotkeys: sorted.map((n) => n.hotkey.toString()),
        coldkeys: sorted.map((n) => n.coldkey.toString()),
        stake: sorted.map((n) =>
          raoToTao(
            (n.stake as AnyCodec[]).reduce((sum: bigint, pair) => sum + toBigInt(pair[1]), 0n),
          )
        ),
        incentive: sorted.map((n) => Number(toBigInt(n.incentive)) / U16_MAX),
        lastUpdate: sorted.map((n) => Number(toBigInt(n.lastUpdate))),
        validatorPermit: sorted.map((n) => n.validatorPermit.isTrue as boolean),
        active: sorted.map((n) => n.active.isTrue as boolean),
      };
    }
    throw new ChainError(
      "unsupported_runtime",
      `The runtime at ${this.endpoint} lacks ${
        source === "auto"
          ? "both SubnetInfoRuntimeApi.get_metagraph and NeuronInfoRuntimeApi.get_neurons_lite"
          : `the runtime API ${source}`
      }; this client cannot read its metagraph`,
      { endpoint: this.endpoint },
    );
  }

  async uidOf(netuid: number, hotkey: string): Promise<number | null> {
    const uid = await this.#call(
      `SubtensorModule.Uids(${netuid}, ${hotkey})`,
      () => this.#query("subtensorModule", "uids")(netuid, hotkey) as Promise<AnyCodec>,
    );
    return uid.isSome ? uid.unwrap().toNumber() : null;
  }

  async commitments(netuid: number): Promise<Commitment[]> {
    const entries = await this.#call(
      `Commitments.CommitmentOf(${netuid}, *)`,
      () => this.#query("commitments", "commitmentOf").entries(netuid) as Promise<AnyCodec>,
      this.#options.callTimeoutMs * 2,
    );
    const out: Commitment[] = [];
    for (const [key, value] of entries as AnyCodec[]) {
      const registration = value.isSome === undefined
        ? value
        : value.isSome
        ? value.unwrap()
        : null;
      const fields = registration?.info?.fields;
      if (registration === null || fields === undefined || fields.length === 0) continue;
      const bytes = dataFieldBytes(fields[0]);
      if (bytes === null) continue;
      let data: string;
      try {
        data = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        // The reference drops what it cannot decode (infra spec §3.4); so do we.
        continue;
      }
      out.push({
        hotkey: key.args[1].toString(),
        block: Number(toBigInt(registration.block)),
        data,
      });
    }
    return out;
  }

  async setCommitment(netuid: number, hotkey: ChainSigner, data: string): Promise<ChainReceipt> {
    const bytes = checkCommitmentData(data);
    const uid = await this.uidOf(netuid, hotkey.address);
    if (uid === null) throw this.#notRegistered(netuid, hotkey.address);
    const tx = this.#tx("commitments", "setCommitment")(netuid, {
      fields: [{ [`Raw${bytes.length}`]: bytes }],
    });
    return await this.#submit(`Commitments.set_commitment(${netuid})`, tx, hotkey);
  }

  async setWeights(
    netuid: number,
    hotkey: ChainSigner,
    uids: readonly number[],
    weights: readonly number[],
    options: SetWeightsOptions = {},
  ): Promise<SetWeightsReceipt> {
    const emitted = convertWeightsForEmit(uids, weights);
    const versionKey = options.versionKey ?? SDK_VERSION_KEY;
    this.#query("subtensorModule", "commitRevealWeightsEnabled");
    const query = this.#api.query.subtensorModule as AnyCodec;
    const uid = await this.uidOf(netuid, hotkey.address);
    if (uid === null) throw this.#notRegistered(netuid, hotkey.address);
    const [commitReveal, rateLimit, lastUpdate, requiredKey, n, head] = await Promise.all([
      this.#call("CommitRevealWeightsEnabled", () => query.commitRevealWeightsEnabled(netuid)),
      this.#call("WeightsSetRateLimit", () => query.weightsSetRateLimit(netuid)),
      this.#call("LastUpdate", () => query.lastUpdate(netuid)),
      this.#call("WeightsVersionKey", () => query.weightsVersionKey(netuid)),
      this.#call("SubnetworkN", () => query.subnetworkN(netuid)),
      this.currentBlock(),
    ]) as AnyCodec[];
    if (commitReveal.isTrue) {
      throw new ChainError(
        "commit_reveal_required",
        `Subnet ${netuid} has CommitRevealWeightsEnabled: weights must be sent as a drand-` +
          `timelocked commit (commit_timelocked_mechanism_weights), which this client does not ` +
          `implement; plain set_weights would be rejected`,
        { endpoint: this.endpoint },
      );
    }
    if (versionKey < Number(toBigInt(requiredKey))) {
      throw new ChainError(
        "version_key_too_low",
        `Version key ${versionKey} is below subnet ${netuid}'s WeightsVersionKey ${
          toBigInt(requiredKey)
        }; pass a version key of at least that`,
        { endpoint: this.endpoint },
      );
    }
    // The SDK only attempts when head − LastUpdate > WeightsSetRateLimit (infra spec §3.6).
    const last = Number(toBigInt(lastUpdate[uid] ?? 0));
    const limit = Number(toBigInt(rateLimit));
    if (head - last <= limit) {
      throw new ChainError(
        "rate_limited",
        `Weights of uid ${uid} on subnet ${netuid} were updated at block ${last}; with ` +
          `WeightsSetRateLimit ${limit} the next attempt may start after block ${
            last + limit
          } (head ${head})`,
        { endpoint: this.endpoint },
      );
    }
    checkDestinations(netuid, emitted.uids, Number(toBigInt(n)), this.endpoint);
    const tx = this.#api.tx.subtensorModule?.setMechanismWeights !== undefined
      ? this.#api.tx.subtensorModule.setMechanismWeights(
        netuid,
        0,
        emitted.uids,
        emitted.weights,
        versionKey,
      )
      : this.#tx("subtensorModule", "setWeights")(
        netuid,
        emitted.uids,
        emitted.weights,
        versionKey,
      );
    const receipt = await this.#submit(`SubtensorModule.set_weights(${netuid})`, tx, hotkey);
    return { ...receipt, ...emitted, versionKey };
  }

  async register(netuid: number, hotkey: ChainSigner, coldkey: ChainSigner): Promise<number> {
    const existing = await this.uidOf(netuid, hotkey.address);
    if (existing !== null) {
      throw new ChainError(
        "already_registered",
        `Hotkey ${hotkey.address} is already registered on subnet ${netuid} as uid ${existing}`,
        { endpoint: this.endpoint },
      );
    }
    const tx = this.#tx("subtensorModule", "burnedRegister")(netuid, hotkey.address);
    await this.#submit(`SubtensorModule.burned_register(${netuid})`, tx, coldkey);
    const uid = await this.uidOf(netuid, hotkey.address);
    if (uid === null) throw this.#notRegistered(netuid, hotkey.address);
    return uid;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(new ChainError("connection_lost", "The chain client was closed"));
    const wasOpen = this.#socketOpen;
    const disconnected = new Promise<void>((resolve) => {
      const off = this.#provider.on("disconnected", () => {
        off();
        resolve();
      });
    });
    await Promise.allSettled([this.#api.disconnect()]);
    // WsProvider.disconnect() returns before the socket's close event; wait for it so no timer
    // or socket outlives close().
    if (wasOpen) await settleWithin(disconnected, 5000, this.#options.clock);
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#options.reconnectDelayMs <= 0) return;
    this.#options.clock.sleep(this.#options.reconnectDelayMs, this.#closing.signal).then(
      async () => {
        if (this.#closed || this.#socketOpen) return;
        this.#socketOpen = true;
        // A failed attempt closes the socket, which emits "disconnected" and schedules the next.
        await this.#provider.connect().catch(() => {
          this.#socketOpen = false;
          this.#scheduleReconnect();
        });
      },
      () => {
        // close() aborted the delay: nothing to reconnect.
      },
    );
  }

  async #call<T>(
    what: string,
    operation: () => Promise<T>,
    timeoutMs: number = this.#options.callTimeoutMs,
  ): Promise<T> {
    if (this.#closed) {
      throw new ChainError("connection_lost", `${what}: the chain client was closed`, {
        endpoint: this.endpoint,
      });
    }
    try {
      return await withTimeout(
        () => operation(),
        timeoutMs,
        () =>
          new ChainError(
            "timeout",
            `${what} at ${this.endpoint} got no answer within ${timeoutMs} ms; the node may be ` +
              `overloaded or unreachable`,
            { endpoint: this.endpoint },
          ),
        this.#options.clock,
      );
    } catch (error) {
      throw classify(error, what, this.endpoint);
    }
  }

  #submit(
    what: string,
    tx: SubmittableExtrinsic<"promise">,
    signer: ChainSigner,
  ): Promise<ChainReceipt> {
    if (this.#closed) {
      return Promise.reject(
        new ChainError("connection_lost", `${what}: the chain client was closed`, {
          endpoint: this.endpoint,
        }),
      );
    }
    let unsubscribe: (() => void) | null = null;
    let cancelled = false;
    const included = new Promise<string>((resolve, reject) => {
      tx.signAndSend(
        signer,
        { era: this.#options.eraPeriod, nonce: -1 },
        (result: SubmittableResult) => {
          const status = result.status;
          if (status.isInBlock || status.isFinalized) {
            if (result.dispatchError !== undefined) {
              reject(this.#dispatchError(what, result));
            } else {
              resolve((status.isInBlock ? status.asInBlock : status.asFinalized).toHex());
            }
          } else if (status.isDropped || status.isInvalid || status.isUsurped) {
            reject(
              new ChainError("extrinsic_failed", `${what} was not included: ${status.type}`, {
                endpoint: this.endpoint,
              }),
            );
          }
        },
      ).then((unsub) => {
        if (cancelled) unsub();
        else unsubscribe = unsub;
      }, reject);
    });
    return this.#call(what, async () => {
      try {
        const blockHash = await included;
        const header = await this.#api.rpc.chain.getHeader(blockHash);
        return { block: header.number.toNumber(), blockHash: blockHash.toLowerCase() };
      } finally {
        cancelled = true;
        (unsubscribe as (() => void) | null)?.();
      }
    }, this.#options.txTimeoutMs);
  }

  /** A storage query of the runtime, or `unsupported_runtime` when it lacks it (not subtensor). */
  #query(pallet: string, item: string): AnyCodec {
    const query = (this.#api.query as AnyCodec)[pallet]?.[item];
    if (query === undefined) throw this.#unsupported(`storage ${pallet}.${item}`);
    return query;
  }

  /** An extrinsic constructor of the runtime, or `unsupported_runtime`. */
  #tx(pallet: string, call: string): AnyCodec {
    const tx = (this.#api.tx as AnyCodec)[pallet]?.[call];
    if (tx === undefined) throw this.#unsupported(`call ${pallet}.${call}`);
    return tx;
  }

  #unsupported(what: string): ChainError {
    return new ChainError(
      "unsupported_runtime",
      `The runtime at ${this.endpoint} (${this.#api.runtimeVersion.specName} ` +
        `${this.#api.runtimeVersion.specVersion}) has no ${what}; is this a subtensor node?`,
      { endpoint: this.endpoint },
    );
  }

  #dispatchError(what: string, result: SubmittableResult): ChainError {
    const dispatchError = result.dispatchError!;
    let detail = dispatchError.toString();
    if (dispatchError.isModule) {
      const meta = this.#api.registry.findMetaError(dispatchError.asModule);
      detail = `${meta.section}.${meta.name}${
        meta.docs.length > 0 ? ` (${meta.docs.join(" ")})` : ""
      }`;
    }
    return new ChainError("extrinsic_failed", `${what} failed on chain: ${detail}`, {
      endpoint: this.endpoint,
    });
  }

  #noSubnet(netuid: number): ChainError {
    return new ChainError("subnet_not_found", `No subnet ${netuid} on ${this.endpoint}`, {
      endpoint: this.endpoint,
    });
  }

  #notRegistered(netuid: number, hotkey: string): ChainError {
    return new ChainError(
      "not_registered",
      `Hotkey ${hotkey} is not registered on subnet ${netuid} at ${this.endpoint}; register it ` +
        `first`,
      { endpoint: this.endpoint },
    );
  }
}

function classify(error: unknown, what: string, endpoint: string): ChainError {
  if (error instanceof ChainError) return error;
  const message = errorMessage(error);
  let code: ChainErrorCode = "rpc_failed";
  if (/disconnected from|not connected|abnormal closure|socket/i.test(message)) {
    code = "connection_lost";
  } else if (/no response received|timeout/i.test(message)) {
    code = "timeout";
  }
  const hint = code === "connection_lost"
    ? "; the client reconnects in the background, retry the call"
    : "";
  return new ChainError(code, `${what} at ${endpoint} failed: ${message}${hint}`, {
    endpoint,
    cause: error,
  });
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 300 ? message.slice(0, 300) + "…" : message;
}

function checkBlockNumber(block: number): void {
  if (!Number.isInteger(block) || block < 0) {
    throw new RangeError(`Block number must be a non-negative integer, got ${block}`);
  }
}

function toBigInt(value: AnyCodec): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(value);
  if (typeof value?.toBigInt === "function") return value.toBigInt();
  if (typeof value?.unwrap === "function") return toBigInt(value.unwrap());
  return BigInt(value.toString());
}

function raoToTao(rao: bigint): number {
  return Number(rao) / RAO_PER_TAO;
}

/** The bytes of a `Data` field: `Raw0..Raw128` and `BigRaw` carry bytes; hashes etc. do not. */
function dataFieldBytes(field: AnyCodec): Uint8Array | null {
  if (typeof field?.type !== "string") return null;
  if (/^Raw\d+$/.test(field.type) || field.type === "BigRaw") return field.value.toU8a(true);
  return null;
}

async function settleWithin(promise: Promise<void>, ms: number, clock: Clock): Promise<void> {
  const timer = new AbortController();
  try {
    await Promise.race([
      promise,
      clock.sleep(ms, timer.signal).then(() => {}, () => {}),
    ]);
  } finally {
    timer.abort();
  }
}
