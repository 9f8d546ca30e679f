/**
 * The reference's resilience around chain reads (infra spec §3.1), as a {@linkcode Chain} wrapper:
 * bounded retries with exponential backoff for transient failures, a circuit breaker that opens
 * after consecutive fully-failed calls, and the last metagraph served while the circuit is open.
 * Every retry, circuit change and stale answer is reported through `onEvent`, so the role can
 * log it; nothing here logs.
 *
 * @module
 */

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
import { jitterRandom, retry, SYSTEM_CLOCK } from "./retry.ts";

/** What {@linkcode ResilientChain} reports. */
export type ResilientChainEvent =
  | { type: "retry"; call: string; attempt: number; error: unknown; delayMs: number }
  | { type: "circuit_open"; call: string; untilMs: number; error: unknown }
  | { type: "circuit_closed"; call: string }
  | { type: "stale_metagraph"; netuid: number; block: number };

/** Options of {@linkcode ResilientChain}; defaults are the reference's (`BT_CALL_*`). */
export interface ResilientChainOptions {
  /** Attempts per read, the first included (`BT_CALL_RETRIES`); default 3. */
  attempts?: number;
  /** Delay before the first retry (`BT_CALL_BACKOFF`); default 5000 ms, doubling. */
  baseDelayMs?: number;
  /** Longest delay between attempts; default 20000 ms. */
  maxDelayMs?: number;
  /** Relative jitter in [0, 1); default 0.1. */
  jitter?: number;
  /** Consecutive fully-failed calls that open the circuit; default 2. */
  circuitFailures?: number;
  /** How long the circuit stays open; default 30000 ms. */
  circuitOpenMs?: number;
  /** Clock for backoff and the circuit; default the system clock. */
  clock?: Clock;
  /** Draws in [0, 1) for jitter; default a crypto-random source. */
  random?: () => number;
  /** Receives retries, circuit changes and stale metagraphs (roles log them). */
  onEvent?: (event: ResilientChainEvent) => void;
}

/** Failures worth another attempt: the endpoint, not the request, was at fault. */
const TRANSIENT: ReadonlySet<ChainErrorCode> = new Set([
  "connect_failed",
  "connection_lost",
  "timeout",
  "rpc_failed",
]);

/**
 * Whether a chain failure is transient (worth a retry).
 *
 * @param error Anything thrown by a {@linkcode Chain} method.
 * @returns True for `ChainError`s with code `connect_failed`, `connection_lost`, `timeout` or
 *   `rpc_failed`.
 *
 * @example
 * ```ts
 * import { isTransientChainError } from "./resilient_chain.ts";
 * import { ChainError } from "./chain_errors.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(isTransientChainError(new ChainError("timeout", "slow")), true);
 * strictEqual(isTransientChainError(new ChainError("not_registered", "no uid")), false);
 * ```
 */
export function isTransientChainError(error: unknown): boolean {
  return error instanceof ChainError && TRANSIENT.has(error.code);
}

/**
 * A {@linkcode Chain} whose reads retry transient failures and trip a circuit breaker. Writes
 * (`setWeights`, `setCommitment`, `register`) are sent once, never retried (a retry could land
 * twice), but fail fast while the circuit is open.
 *
 * @example Retrying a flaky head read on the local chain
 * ```ts
 * import { ResilientChain } from "./resilient_chain.ts";
 * import { LocalChain } from "./local_chain.ts";
 * import { ChainError } from "./chain_errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const clock = { nowMs: () => 0, sleep: () => Promise.resolve() };
 * const local = new LocalChain({ blockTimeMs: 1000, genesisMs: 0, clock });
 * let failures = 1;
 * const flaky = Object.assign(Object.create(local), {
 *   currentBlock: () => failures-- > 0
 *     ? Promise.reject(new ChainError("timeout", "slow"))
 *     : local.currentBlock(),
 * });
 * const events: string[] = [];
 * const chain = new ResilientChain(flaky, { clock, onEvent: (e) => events.push(e.type) });
 * strictEqual(await chain.currentBlock(), 0);
 * strictEqual(events.join(), "retry");
 * ```
 */
export class ResilientChain implements Chain {
  readonly endpoint: string;
  readonly #inner: Chain;
  readonly #options: Required<Omit<ResilientChainOptions, "onEvent">>;
  readonly #onEvent: (event: ResilientChainEvent) => void;
  readonly #metagraphs = new Map<number, Metagraph>();
  #consecutiveFailures = 0;
  #openUntilMs = -Infinity;

  /**
   * Wraps a chain.
   *
   * @param inner The chain to call (a `SubstrateChain` or `LocalChain`).
   * @param options Retries, circuit breaker, clock and event sink.
   * @throws {RangeError} When `attempts` or `circuitFailures` is not a positive integer.
   */
  constructor(inner: Chain, options: ResilientChainOptions = {}) {
    this.endpoint = inner.endpoint;
    this.#inner = inner;
    this.#options = {
      attempts: options.attempts ?? 3,
      baseDelayMs: options.baseDelayMs ?? 5000,
      maxDelayMs: options.maxDelayMs ?? 20_000,
      jitter: options.jitter ?? 0.1,
      circuitFailures: options.circuitFailures ?? 2,
      circuitOpenMs: options.circuitOpenMs ?? 30_000,
      clock: options.clock ?? SYSTEM_CLOCK,
      random: options.random ?? jitterRandom,
    };
    this.#onEvent = options.onEvent ?? (() => {});
    for (const name of ["attempts", "circuitFailures"] as const) {
      const value = this.#options[name];
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
      }
    }
  }

  /** Whether the circuit is open now (reads fail fast, the cached metagraph is served). */
  get circuitOpen(): boolean {
    return this.#options.clock.nowMs() < this.#openUntilMs;
  }

  currentBlock(): Promise<number> {
    return this.#read("currentBlock", () => this.#inner.currentBlock());
  }

  blockHash(block: number): Promise<string> {
    return this.#read(`blockHash(${block})`, () => this.#inner.blockHash(block));
  }

  blockTimestampMs(block: number): Promise<number> {
    return this.#read(`blockTimestampMs(${block})`, () => this.#inner.blockTimestampMs(block));
  }

  async metagraph(netuid: number): Promise<Metagraph> {
    try {
      const metagraph = await this.#read(
        `metagraph(${netuid})`,
        () => this.#inner.metagraph(netuid),
      );
      this.#metagraphs.set(netuid, metagraph);
      return metagraph;
    } catch (error) {
      const cached = this.#metagraphs.get(netuid);
      if (cached === undefined || !this.circuitOpen) throw error;
      // infra spec §3.1: while the circuit is open the last metagraph stands in.
      this.#onEvent({ type: "stale_metagraph", netuid, block: cached.block });
      return structuredClone(cached);
    }
  }

  uidOf(netuid: number, hotkey: string): Promise<number | null> {
    return this.#read(`uidOf(${netuid})`, () => this.#inner.uidOf(netuid, hotkey));
  }

  commitments(netuid: number): Promise<Commitment[]> {
    return this.#read(`commitments(${netuid})`, () => this.#inner.commitments(netuid));
  }

  setCommitment(netuid: number, hotkey: ChainSigner, data: string): Promise<ChainReceipt> {
    return this.#write(
      `setCommitment(${netuid})`,
      () => this.#inner.setCommitment(netuid, hotkey, data),
    );
  }

  setWeights(
    netuid: number,
    hotkey: ChainSigner,
    uids: readonly number[],
    weights: readonly number[],
    options?: SetWeightsOptions,
  ): Promise<SetWeightsReceipt> {
    return this.#write(
      `setWeights(${netuid})`,
      () => this.#inner.setWeights(netuid, hotkey, uids, weights, options),
    );
  }

  register(netuid: number, hotkey: ChainSigner, coldkey: ChainSigner): Promise<number> {
    return this.#write(`register(${netuid})`, () => this.#inner.register(netuid, hotkey, coldkey));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #read<T>(call: string, operation: () => Promise<T>): Promise<T> {
    this.#refuseWhileOpen(call);
    try {
      const value = await retry(() => operation(), {
        attempts: this.#options.attempts,
        baseDelayMs: this.#options.baseDelayMs,
        maxDelayMs: this.#options.maxDelayMs,
        jitter: this.#options.jitter,
        clock: this.#options.clock,
        random: this.#options.random,
        shouldRetry: isTransientChainError,
        onRetry: (event) => this.#onEvent({ type: "retry", call, ...event }),
      });
      this.#succeeded(call);
      return value;
    } catch (error) {
      if (isTransientChainError(error)) this.#failed(call, error);
      throw error;
    }
  }

  async #write<T>(call: string, operation: () => Promise<T>): Promise<T> {
    this.#refuseWhileOpen(call);
    try {
      const value = await operation();
      this.#succeeded(call);
      return value;
    } catch (error) {
      if (isTransientChainError(error)) this.#failed(call, error);
      throw error;
    }
  }

  #refuseWhileOpen(call: string): void {
    if (!this.circuitOpen) return;
    throw new ChainError(
      "circuit_open",
      `${call} refused: ${this.#options.circuitFailures} consecutive calls to ${this.endpoint} ` +
        `failed; the circuit stays open until ${new Date(this.#openUntilMs).toISOString()}`,
      { endpoint: this.endpoint },
    );
  }

  #succeeded(call: string): void {
    const wasTripped = this.#consecutiveFailures >= this.#options.circuitFailures;
    this.#consecutiveFailures = 0;
    if (wasTripped) this.#onEvent({ type: "circuit_closed", call });
  }

  #failed(call: string, error: unknown): void {
    this.#consecutiveFailures++;
    if (this.#consecutiveFailures >= this.#options.circuitFailures) {
      this.#openUntilMs = this.#options.clock.nowMs() + this.#options.circuitOpenMs;
      this.#onEvent({ type: "circuit_open", call, untilMs: this.#openUntilMs, error });
    }
  }
}
