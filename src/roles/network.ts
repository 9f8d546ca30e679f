/**
 * What miner and validator share about the network: the hotkey in both key forms, buckets found
 * through chain commitments, and the window's randomness recipes.
 *
 * Randomness (infra spec §2.3). The reference's miner hashes the block hash of W with the *latest*
 * drand round, which no one else can reproduce. Ours uses the round current at block W's
 * timestamp, which any validator can fetch and compare (strict mode), and which the reference's
 * validators accept as well (they never compare it). The validator's challenge randomness hashes
 * the block hash of W+30 with the round current at that block's timestamp: produced after the
 * upload deadline, so unknown to miners while they work, and reproducible after a restart.
 *
 * @module
 */

import type { KeyringPair } from "@polkadot/keyring/types";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Chain } from "../net/chain.ts";
import { decodeCommitment, type ReadCredentials } from "../net/credentials.ts";
import { type DrandBeacon, type DrandChainInfo, roundAt } from "../net/drand.ts";
import type { ObjectStore } from "../net/storage.ts";
import { minerCombinedRandomness } from "../protocol/seeds.ts";
import {
  signSr25519,
  type Sr25519Keypair,
  ss58Address,
  verifySr25519,
} from "../protocol/signature.ts";

/** A role's hotkey: the chain signer and the protocol key pair (same key). */
export interface RoleIdentity {
  /** SS58 address. */
  hotkey: string;
  /** Signs extrinsics. */
  pair: KeyringPair;
  /** Signs rollouts and commit bindings. */
  keypair: Sr25519Keypair;
}

/**
 * Both key forms of a hotkey. The protocol signer needs the 64-byte secret, which
 * `@polkadot/keyring` exposes only through its unencrypted PKCS#8 export (header 16 bytes,
 * secret 64, divider 5, public 32); the result is checked by a sign-and-verify round trip.
 *
 * @param pair An sr25519 keyring pair with its secret.
 * @returns The identity.
 * @throws {TypeError} For a locked, non-sr25519 or inconsistent pair.
 *
 * @example
 * ```ts
 * import { Keyring } from "@polkadot/keyring";
 * import { cryptoWaitReady } from "@polkadot/util-crypto";
 * import { identityFromPair } from "./network.ts";
 * await cryptoWaitReady();
 * const pair = new Keyring({ type: "sr25519", ss58Format: 42 }).addFromUri("//Alice");
 * if (identityFromPair(pair).hotkey !== pair.address) throw new Error();
 * ```
 */
export function identityFromPair(pair: KeyringPair): RoleIdentity {
  if (pair.type !== "sr25519") {
    throw new TypeError(`Hotkey ${pair.address} is ${pair.type}; GRAIL signs with sr25519 keys`);
  }
  const pkcs8 = pair.encodePkcs8();
  if (pkcs8.length !== 16 + 64 + 5 + 32) {
    throw new TypeError(
      `Cannot read the secret of hotkey ${pair.address}: unexpected PKCS#8 layout`,
    );
  }
  const keypair = { publicKey: pair.publicKey, secretKey: pkcs8.slice(16, 80) };
  const probe = new TextEncoder().encode("grail role key check");
  if (!verifySr25519(probe, signSr25519(probe, keypair), pair.publicKey)) {
    throw new TypeError(`Hotkey ${pair.address}: its secret does not match its public key`);
  }
  return { hotkey: ss58Address(pair.publicKey), pair, keypair };
}

/** Opens buckets: one's own (write keys) and others' (their committed read keys). */
export interface StoreResolver {
  /** Our bucket, written with our write keys. */
  readonly own: ObjectStore;
  /** Another party's bucket from its commitment. @param creds Account id and read key. */
  reader(creds: ReadCredentials): ObjectStore;
}

/** drand as the roles use it: the chain's parameters and verified rounds. */
export interface BeaconSource {
  /** Chain parameters (period, genesis). */
  readonly chain: DrandChainInfo;
  /** A verified round. @param round Round number. */
  get(round: number): Promise<DrandBeacon>;
}

/**
 * Read credentials of every metagraph hotkey with a valid commitment (infra spec §3.4): values
 * that are not exactly 128 characters or do not parse are skipped, as the reference does.
 *
 * @param chain The chain.
 * @param netuid Subnet.
 * @returns hotkey → credentials.
 *
 * @example
 * ```ts ignore
 * const buckets = await committedBuckets(chain, 81);
 * ```
 */
export async function committedBuckets(
  chain: Chain,
  netuid: number,
): Promise<Map<string, ReadCredentials>> {
  const out = new Map<string, ReadCredentials>();
  for (const c of await chain.commitments(netuid)) {
    try {
      out.set(c.hotkey, decodeCommitment(c.data));
    } catch {
      // Infra spec §3.4: a commitment that is not a 128-character credential is not a bucket.
      continue;
    }
  }
  return out;
}

/**
 * The trainer's bucket: UID 0's committed credentials (infra spec §4.2).
 *
 * @param chain The chain.
 * @param netuid Subnet.
 * @param resolver Opens the bucket.
 * @returns The store.
 * @throws {Error} When UID 0 is missing or has no commitment (the roles retry later).
 */
export async function trainerStore(
  chain: Chain,
  netuid: number,
  resolver: StoreResolver,
): Promise<ObjectStore> {
  const mg = await chain.metagraph(netuid);
  const i = mg.uids.indexOf(0);
  if (i < 0) throw new Error(`Subnet ${netuid} has no UID 0; no trainer checkpoints to load`);
  const creds = (await committedBuckets(chain, netuid)).get(mg.hotkeys[i]);
  if (creds === undefined) {
    throw new Error(
      `UID 0 (${
        mg.hotkeys[i]
      }) has no bucket commitment on subnet ${netuid}; cannot find checkpoints`,
    );
  }
  return resolver.reader(creds);
}

/** A window's beacon as the miner binds it. */
export interface WindowBeacon {
  /** Block hash of W. */
  blockHash: string;
  /** drand round used, or null without drand. */
  round: number | null;
  /** Combined randomness (64 hex). */
  randomness: string;
}

/**
 * The miner's randomness for window W: `sha256_hex(hash(W) + drand(round at W's timestamp))`;
 * without drand `sha256_hex(hash(W))` (the reference writes the bare `0x…` hash, which its own
 * schema check then rejects, infra spec §12).
 *
 * @param chain The chain.
 * @param drand The beacon, or null for `--no-drand`.
 * @param window W.
 * @returns The beacon.
 * @throws drand or chain errors (fail closed: no silent fallback).
 */
export async function minerWindowBeacon(
  chain: Chain,
  drand: BeaconSource | null,
  window: number,
): Promise<WindowBeacon> {
  const blockHash = await chain.blockHash(window);
  if (drand === null) return { blockHash, round: null, randomness: sha256Hex(blockHash) };
  const round = roundAt(drand.chain, (await chain.blockTimestampMs(window)) / 1000);
  const beacon = await drand.get(round);
  return { blockHash, round, randomness: minerCombinedRandomness(blockHash, beacon.randomness) };
}

/**
 * The validator's challenge randomness for target T: `sha256_hex(hash(T+30) + drand(round at
 * T+30's timestamp))`, or `sha256_hex(hash(T+30))` without drand (the reference's no-drand
 * recipe).
 *
 * @param chain The chain.
 * @param drand The beacon, or null.
 * @param target T.
 * @returns 64 hex.
 * @throws drand or chain errors.
 */
export async function validatorChallengeRandomness(
  chain: Chain,
  drand: BeaconSource | null,
  target: number,
): Promise<string> {
  const h2 = await chain.blockHash(target + 30);
  if (drand === null) return sha256Hex(h2);
  const round = roundAt(drand.chain, (await chain.blockTimestampMs(target + 30)) / 1000);
  return sha256Hex(h2 + (await drand.get(round)).randomness);
}

/**
 * Lower-case hex SHA-256 of a string's UTF-8 bytes.
 *
 * @param text The text.
 * @returns 64 hex.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./network.ts";
 * if (!sha256Hex("").startsWith("e3b0c442")) throw new Error();
 * ```
 */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(text)));
}
