/**
 * drand client for quicknet (and any `bls-unchained-g1-rfc9380` chain, such as the local
 * beacon): fetches beacons from relays in order with a timeout each, verifies every beacon's BLS
 * signature and its randomness, and fails closed. Unlike the reference (infra spec §2.2) it never
 * substitutes random bytes when drand is unreachable.
 *
 * Scheme: signature σ ∈ G1 on `sha256(BE64(round))` under DST
 * `BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_`, public key in G2, randomness = sha256(σ).
 *
 * @module
 */

import { bls12_381 } from "@noble/curves/bls12-381.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { DrandError } from "./errors.ts";
import { type Clock, SYSTEM_CLOCK, withTimeout } from "./retry.ts";

/** The only scheme this client verifies. */
export const UNCHAINED_G1_SCHEME = "bls-unchained-g1-rfc9380";
/** Hash-to-curve domain separation tag of the scheme. */
export const UNCHAINED_G1_DST = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";

/** Parameters of a drand chain, as served at `/{hash}/info`. */
export interface DrandChainInfo {
  /** Group public key: compressed G2 point, 192 hex characters. */
  publicKey: string;
  /** Seconds between rounds. */
  periodSeconds: number;
  /** Unix seconds of round 1. */
  genesisTime: number;
  /** Chain hash used in relay paths. */
  hash: string;
  /** Scheme id; must be {@linkcode UNCHAINED_G1_SCHEME}. */
  schemeId: string;
}

/** drand quicknet, the reference's default chain (infra spec §2.2; drand's published info). */
export const QUICKNET: DrandChainInfo = Object.freeze({
  publicKey: "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c" +
    "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb" +
    "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
  periodSeconds: 3,
  genesisTime: 1692803367,
  hash: "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
  schemeId: UNCHAINED_G1_SCHEME,
});

/** The reference's relays, tried in this order (infra spec §2.2). */
export const REFERENCE_RELAYS: readonly string[] = Object.freeze([
  "https://api.drand.sh",
  "https://drand.cloudflare.com",
  "https://api.drand.secureweb3.com:6875",
]);

/** The reference's per-relay timeout. */
export const RELAY_TIMEOUT_MS = 10_000;

/** A verified beacon. `randomness` is recomputed from the signature, lower-case hex. */
export interface DrandBeacon {
  /** Round number (≥ 1). */
  round: number;
  /** sha256(signature), 64 lower-case hex characters. */
  randomness: string;
  /** G1 signature, 96 lower-case hex characters. */
  signature: string;
}

function requireChain(chain: DrandChainInfo): void {
  if (chain.schemeId !== UNCHAINED_G1_SCHEME) {
    throw new RangeError(
      `Unsupported drand scheme ${
        JSON.stringify(chain.schemeId)
      }; only ${UNCHAINED_G1_SCHEME} is verified`,
    );
  }
  if (!(chain.periodSeconds > 0) || !Number.isFinite(chain.genesisTime)) {
    throw new RangeError(
      `Invalid drand chain timing: period ${chain.periodSeconds} s, genesis ${chain.genesisTime}`,
    );
  }
}

/**
 * The round current at a time: `floor((t − genesis) / period) + 1`.
 *
 * @param chain Chain parameters.
 * @param unixSeconds Time in Unix seconds.
 * @returns Round number (≥ 1).
 * @throws {RangeError} For a time before genesis, where no round exists.
 *
 * @example
 * ```ts
 * import { QUICKNET, roundAt } from "./drand.ts";
 * if (roundAt(QUICKNET, 1692803367) !== 1 || roundAt(QUICKNET, 1692803370) !== 2) throw new Error("x");
 * ```
 */
export function roundAt(chain: DrandChainInfo, unixSeconds: number): number {
  requireChain(chain);
  if (!(unixSeconds >= chain.genesisTime)) {
    throw new RangeError(
      `Time ${unixSeconds} is before the drand chain's genesis ${chain.genesisTime}; no round exists`,
    );
  }
  return Math.floor((unixSeconds - chain.genesisTime) / chain.periodSeconds) + 1;
}

/**
 * Unix seconds at which a round is produced: `genesis + (round − 1) · period`.
 *
 * @param chain Chain parameters.
 * @param round Round number (≥ 1).
 * @returns Unix seconds.
 * @throws {RangeError} For a round below 1.
 *
 * @example
 * ```ts
 * import { QUICKNET, roundTime } from "./drand.ts";
 * if (roundTime(QUICKNET, 1000) !== 1692803367 + 2997) throw new Error("unexpected");
 * ```
 */
export function roundTime(chain: DrandChainInfo, round: number): number {
  requireChain(chain);
  if (!Number.isSafeInteger(round) || round < 1) {
    throw new RangeError(`drand round must be an integer >= 1, got ${round}`);
  }
  return chain.genesisTime + (round - 1) * chain.periodSeconds;
}

/**
 * The message signed for a round: `sha256(BE64(round))`.
 *
 * @param round Round number.
 * @returns 32 bytes.
 *
 * @example
 * ```ts
 * import { roundMessage } from "./drand.ts";
 * if (roundMessage(1).length !== 32) throw new Error("unexpected");
 * ```
 */
export function roundMessage(round: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(round));
  return sha256(bytes);
}

const HEX = /^[0-9a-fA-F]*$/;
const publicKeys = new Map<string, ReturnType<typeof bls12_381.G2.Point.fromHex>>();

function publicKeyPoint(chain: DrandChainInfo) {
  let point = publicKeys.get(chain.publicKey);
  if (point === undefined) {
    if (chain.publicKey.length !== 192 || !HEX.test(chain.publicKey)) {
      throw new RangeError(
        `drand public key must be 192 hex characters (compressed G2), got ${chain.publicKey.length} characters`,
      );
    }
    point = bls12_381.G2.Point.fromHex(chain.publicKey);
    publicKeys.set(chain.publicKey, point);
  }
  return point;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Parses and verifies a beacon JSON object against a chain: round shape, optional expected
 * round, BLS signature, and that any `randomness` field equals sha256(signature).
 *
 * @param chain Chain parameters (public key, scheme).
 * @param value Parsed JSON from a relay.
 * @param expectedRound When set, the round the caller asked for.
 * @returns The verified beacon with recomputed randomness.
 * @throws {DrandError} `malformed`, `round_mismatch`, `bad_signature` or `bad_randomness`.
 *
 * @example Round 1000 of quicknet
 * ```ts
 * import { QUICKNET, verifyBeacon } from "./drand.ts";
 * const beacon = verifyBeacon(QUICKNET, {
 *   round: 1000,
 *   signature: "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39",
 * }, 1000);
 * if (beacon.randomness !== "fe290beca10872ef2fb164d2aa4442de4566183ec51c56ff3cd603d930e54fdd") {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function verifyBeacon(
  chain: DrandChainInfo,
  value: unknown,
  expectedRound?: number,
): DrandBeacon {
  requireChain(chain);
  if (typeof value !== "object" || value === null) {
    throw new DrandError("malformed", `drand beacon must be a JSON object, got ${describe(value)}`);
  }
  const { round, signature, randomness } = value as Record<string, unknown>;
  if (typeof round !== "number" || !Number.isSafeInteger(round) || round < 1) {
    throw new DrandError(
      "malformed",
      `drand beacon round must be an integer >= 1, got ${describe(round)}`,
    );
  }
  if (expectedRound !== undefined && round !== expectedRound) {
    throw new DrandError(
      "round_mismatch",
      `drand relay returned round ${round} when round ${expectedRound} was requested`,
    );
  }
  if (typeof signature !== "string" || signature.length !== 96 || !HEX.test(signature)) {
    throw new DrandError(
      "malformed",
      `drand beacon ${round}: signature must be 96 hex characters (compressed G1), got ${
        describe(signature)
      }`,
    );
  }
  let valid: boolean;
  try {
    const short = bls12_381.shortSignatures;
    const message = short.hash(roundMessage(round), UNCHAINED_G1_DST);
    valid = short.verify(short.Signature.fromHex(signature), message, publicKeyPoint(chain));
  } catch (cause) {
    throw new DrandError(
      "bad_signature",
      `drand beacon ${round}: signature is not a valid G1 point (${(cause as Error).message})`,
      { cause },
    );
  }
  if (!valid) {
    throw new DrandError(
      "bad_signature",
      `drand beacon ${round}: BLS signature does not verify under chain ${
        chain.hash.slice(0, 16)
      }…; refusing its randomness`,
    );
  }
  const expected = bytesToHex(sha256(hexToBytes(signature)));
  if (
    randomness !== undefined &&
    (typeof randomness !== "string" || randomness.toLowerCase() !== expected)
  ) {
    throw new DrandError(
      "bad_randomness",
      `drand beacon ${round}: randomness ${
        describe(randomness)
      } is not sha256(signature) = ${expected}`,
    );
  }
  return { round, randomness: expected, signature: signature.toLowerCase() };
}

/** A beacon is ~300 bytes; anything far larger is not a beacon and is not read to the end. */
const MAX_BEACON_BYTES = 64 * 1024;

async function readLimited(response: Response, maxBytes: number, url: string): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        throw new DrandError(
          "malformed",
          `GET ${url} returned more than ${maxBytes} bytes; not a beacon`,
        );
      }
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

/** `fetch`-compatible function, injectable for tests. */
export type FetchLike = (url: string, init: { signal: AbortSignal }) => Promise<Response>;

/** Options of {@linkcode DrandClient}. */
export interface DrandClientOptions {
  /** Chain to verify against; default {@linkcode QUICKNET}. */
  chain?: DrandChainInfo;
  /** Relay base URLs tried in order; default {@linkcode REFERENCE_RELAYS}. */
  relays?: readonly string[];
  /** Per-relay timeout covering request and body; default 10 s. */
  timeoutMs?: number;
  /** HTTP function; default the global `fetch`. */
  fetch?: FetchLike;
  /** Clock for timeouts and freshness; default the system clock. */
  clock?: Clock;
  /**
   * How many rounds behind the clock's current round a "latest" beacon may be before it is
   * refused as stale (a relay replaying old beacons); default 20 (one minute on quicknet).
   */
  maxStaleRounds?: number;
}

/**
 * Verified drand beacons from a list of relays.
 *
 * @example Against a stub relay
 * ```ts
 * import { DrandClient, QUICKNET } from "./drand.ts";
 * const body = JSON.stringify({
 *   round: 1000,
 *   signature: "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39",
 * });
 * const client = new DrandClient({ relays: ["http://relay"], fetch: () => Promise.resolve(new Response(body)) });
 * const beacon = await client.get(1000);
 * if (!beacon.randomness.startsWith("fe290bec")) throw new Error("unexpected");
 * ```
 */
export class DrandClient {
  /** The chain beacons are verified against. */
  readonly chain: DrandChainInfo;
  readonly #relays: readonly string[];
  readonly #timeoutMs: number;
  readonly #fetch: FetchLike;
  readonly #clock: Clock;
  readonly #maxStaleRounds: number;

  /**
   * Creates a client for one drand chain over its relays.
   *
   * @param options Chain, relays, timeout, fetch and clock.
   * @throws {RangeError} For an unsupported chain or an empty relay list.
   */
  constructor(options: DrandClientOptions = {}) {
    this.chain = options.chain ?? QUICKNET;
    requireChain(this.chain);
    publicKeyPoint(this.chain);
    this.#relays = options.relays ?? REFERENCE_RELAYS;
    if (this.#relays.length === 0) throw new RangeError("DrandClient needs at least one relay URL");
    this.#timeoutMs = options.timeoutMs ?? RELAY_TIMEOUT_MS;
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#maxStaleRounds = options.maxStaleRounds ?? 20;
  }

  /**
   * The latest beacon, verified and fresh (not more than `maxStaleRounds` behind the clock).
   *
   * @returns A verified beacon.
   * @throws {DrandError} `all_relays_failed` listing each relay's failure.
   */
  latest(): Promise<DrandBeacon> {
    return this.#fromRelays("latest", undefined);
  }

  /**
   * A specific round, verified.
   *
   * @param round Round number (≥ 1).
   * @returns A verified beacon for exactly that round.
   * @throws {RangeError} For a round below 1.
   * @throws {DrandError} `all_relays_failed` listing each relay's failure.
   */
  get(round: number): Promise<DrandBeacon> {
    if (!Number.isSafeInteger(round) || round < 1) {
      throw new RangeError(`drand round must be an integer >= 1, got ${round}`);
    }
    return this.#fromRelays(String(round), round);
  }

  async #fromRelays(path: string, expectedRound: number | undefined): Promise<DrandBeacon> {
    const failures: string[] = [];
    const causes: unknown[] = [];
    for (const relay of this.#relays) {
      const url = `${relay.replace(/\/+$/, "")}/${this.chain.hash}/public/${path}`;
      try {
        const beacon = verifyBeacon(this.chain, await this.#fetchJson(url), expectedRound);
        if (expectedRound === undefined) this.#requireFresh(beacon);
        return beacon;
      } catch (error) {
        causes.push(error);
        const code = error instanceof DrandError ? error.code : "http";
        failures.push(`${relay}: ${code}: ${(error as Error).message}`);
      }
    }
    throw new DrandError(
      "all_relays_failed",
      `No verified drand beacon for ${
        path === "latest" ? "the latest round" : `round ${path}`
      } from ${this.#relays.length} relay(s); failing closed. ${failures.join("; ")}`,
      { cause: new AggregateError(causes, "drand relay failures") },
    );
  }

  #requireFresh(beacon: DrandBeacon): void {
    const nowSeconds = this.#clock.nowMs() / 1000;
    if (nowSeconds < this.chain.genesisTime) return;
    const current = roundAt(this.chain, nowSeconds);
    if (beacon.round < current - this.#maxStaleRounds) {
      throw new DrandError(
        "stale",
        `latest beacon is round ${beacon.round} but the clock says round ${current}; more than ${this.#maxStaleRounds} rounds stale`,
      );
    }
  }

  #fetchJson(url: string): Promise<unknown> {
    return withTimeout(
      async (signal) => {
        const response = await this.#fetch(url, { signal });
        if (!response.ok) {
          await response.body?.cancel();
          throw new DrandError("http", `GET ${url} answered HTTP ${response.status}`);
        }
        const text = await readLimited(response, MAX_BEACON_BYTES, url);
        try {
          return JSON.parse(text);
        } catch (cause) {
          throw new DrandError("malformed", `GET ${url} returned non-JSON: ${describe(text)}`, {
            cause,
          });
        }
      },
      this.#timeoutMs,
      () => new DrandError("timeout", `GET ${url} took longer than ${this.#timeoutMs} ms`),
      this.#clock,
    );
  }
}
