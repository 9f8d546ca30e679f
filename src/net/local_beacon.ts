/**
 * A drand-compatible beacon for the local network: its own BLS key, the same scheme as quicknet
 * (`bls-unchained-g1-rfc9380`), served over loopback HTTP with drand's v1 API shape
 * (`/{hash}/info`, `/{hash}/public/latest`, `/{hash}/public/{round}`) so that
 * {@linkcode DrandClient} verifies it with the same code as the real network.
 *
 * @module
 */

import { bls12_381 } from "@noble/curves/bls12-381.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  type DrandBeacon,
  type DrandChainInfo,
  roundAt,
  roundMessage,
  UNCHAINED_G1_DST,
  UNCHAINED_G1_SCHEME,
} from "./drand.ts";
import { type Clock, SYSTEM_CLOCK } from "./retry.ts";

const SEED_DOMAIN = new TextEncoder().encode("grail-local-drand-key|");

/** Options of {@linkcode LocalBeacon}. */
export interface LocalBeaconOptions {
  /** 32+ bytes from which the BLS secret key is derived (deterministic devnets). */
  seed: Uint8Array;
  /** Unix seconds of round 1. */
  genesisTime: number;
  /** Seconds between rounds; default 3 (as quicknet). */
  periodSeconds?: number;
}

/** A running loopback server. */
export interface LocalBeaconServer {
  /** Base URL to give {@linkcode DrandClient} as its relay. */
  readonly url: string;
  /** Stops the server and waits for it to finish. */
  close(): Promise<void>;
}

/**
 * Signs rounds with its own key.
 *
 * @example Signs a round that the client's verifier accepts
 * ```ts
 * import { LocalBeacon } from "./local_beacon.ts";
 * import { verifyBeacon } from "./drand.ts";
 * const beacon = new LocalBeacon({ seed: new Uint8Array(32).fill(7), genesisTime: 1_700_000_000 });
 * const signed = beacon.beacon(5);
 * if (verifyBeacon(beacon.info, signed, 5).randomness !== signed.randomness) throw new Error("x");
 * ```
 */
export class LocalBeacon {
  /** Chain parameters, including the public key clients pin. */
  readonly info: DrandChainInfo;
  readonly #secretKey: Uint8Array;

  /**
   * Creates a deterministic local beacon.
   *
   * @param options Seed, genesis and period.
   * @throws {RangeError} For a short seed or a bad period.
   */
  constructor(options: LocalBeaconOptions) {
    if (options.seed.length < 32) {
      throw new RangeError(
        `Local beacon seed must be at least 32 bytes, got ${options.seed.length}`,
      );
    }
    const periodSeconds = options.periodSeconds ?? 3;
    if (!(periodSeconds > 0)) {
      throw new RangeError(`Local beacon period must be positive, got ${periodSeconds}`);
    }
    // noble's keygen wants 48 bytes of key material; expand the seed with a domain-separated hash.
    const material = sha512(new Uint8Array([...SEED_DOMAIN, ...options.seed])).slice(0, 48);
    const { secretKey, publicKey } = bls12_381.shortSignatures.keygen(material);
    this.#secretKey = secretKey;
    const publicKeyHex = publicKey.toHex(true);
    const hash = bytesToHex(sha256(new TextEncoder().encode(
      `grail-local-drand|${UNCHAINED_G1_SCHEME}|${publicKeyHex}|${periodSeconds}|${options.genesisTime}`,
    )));
    this.info = Object.freeze({
      publicKey: publicKeyHex,
      periodSeconds,
      genesisTime: options.genesisTime,
      hash,
      schemeId: UNCHAINED_G1_SCHEME,
    });
  }

  /**
   * The signed beacon of a round.
   *
   * @param round Round number (≥ 1).
   * @returns Round, signature and randomness = sha256(signature).
   * @throws {RangeError} For a round below 1.
   */
  beacon(round: number): DrandBeacon {
    if (!Number.isSafeInteger(round) || round < 1) {
      throw new RangeError(`Beacon round must be an integer >= 1, got ${round}`);
    }
    const short = bls12_381.shortSignatures;
    const signature = short.sign(
      short.hash(roundMessage(round), UNCHAINED_G1_DST),
      this.#secretKey,
    );
    const signatureBytes = signature.toBytes(true);
    return {
      round,
      randomness: bytesToHex(sha256(signatureBytes)),
      signature: bytesToHex(signatureBytes),
    };
  }

  /**
   * Serves the drand v1 HTTP API on 127.0.0.1. Rounds after the clock's current one answer 404,
   * as a real relay cannot serve the future.
   *
   * @param options `port` (default 0: any free port) and `clock` (default system).
   * @returns The running server.
   */
  serve(options: { port?: number; clock?: Clock } = {}): Promise<LocalBeaconServer> {
    const clock = options.clock ?? SYSTEM_CLOCK;
    const infoBody = JSON.stringify({
      public_key: this.info.publicKey,
      period: this.info.periodSeconds,
      genesis_time: this.info.genesisTime,
      hash: this.info.hash,
      schemeID: this.info.schemeId,
      metadata: { beaconID: "grail-local" },
    });
    const json = (body: string, status = 200) =>
      new Response(body, { status, headers: { "content-type": "application/json" } });
    const handler = (request: Request): Response => {
      const path = new URL(request.url).pathname;
      if (path === "/info" || path === `/${this.info.hash}/info`) return json(infoBody);
      const match = path.match(new RegExp(`^/${this.info.hash}/public/(latest|\\d+)$`));
      if (match === null) return json(JSON.stringify({ error: `unknown path ${path}` }), 404);
      const nowSeconds = clock.nowMs() / 1000;
      if (nowSeconds < this.info.genesisTime) return json(`{"error":"chain not started"}`, 404);
      const current = roundAt(this.info, nowSeconds);
      const round = match[1] === "latest" ? current : Number(match[1]);
      if (round < 1 || round > current) {
        return json(`{"error":"round ${round} not produced yet"}`, 404);
      }
      return json(JSON.stringify(this.beacon(round)));
    };
    return new Promise((resolve) => {
      const server = Deno.serve({
        hostname: "127.0.0.1",
        port: options.port ?? 0,
        onListen: ({ port }) => {
          resolve({
            url: `http://127.0.0.1:${port}`,
            close: () => server.shutdown(),
          });
        },
      }, handler);
    });
  }
}
