/**
 * R2 read credentials on chain (infra spec §3.4): every role commits its bucket's read key as a
 * 128-character string (codec in ./credentials.ts) and reads everyone else's, keyed by uid.
 *
 * @module
 */

import type { Chain, ChainReceipt, ChainSigner, Metagraph } from "./chain.ts";
import { COMMITMENT_LENGTH, decodeCommitment, encodeCommitment } from "./credentials.ts";
import type { ReadCredentials } from "./credentials.ts";

/** One uid's committed read credentials. */
export interface CommittedCredentials {
  /** Uid of the committing hotkey in the metagraph used. */
  uid: number;
  /** Committing hotkey, SS58. */
  hotkey: string;
  /** Block of the commitment. */
  block: number;
  /** Bucket (= account id) and read key. */
  credentials: ReadCredentials;
}

/** A commitment that was not taken, and why (for the role's log). */
export interface SkippedCommitment {
  /** Committing hotkey, SS58. */
  hotkey: string;
  /** Why it was dropped. */
  reason: string;
}

/** What {@linkcode readCommittedCredentials} found. */
export interface CommittedCredentialsResult {
  /** Credentials by uid. */
  byUid: Map<number, CommittedCredentials>;
  /** Commitments dropped by the reference's rules. */
  skipped: SkippedCommitment[];
}

/**
 * Reads every read credential committed on the subnet with the reference's rules: the first
 * field's text must be exactly 128 characters and parse, and the hotkey must be in the metagraph
 * (then the entry is stored under its uid).
 *
 * @param chain The chain.
 * @param netuid The subnet.
 * @param metagraph The metagraph to map hotkeys to uids; read from `chain` when omitted.
 * @returns Credentials by uid and the skipped commitments with reasons.
 * @throws {ChainError} When the chain reads fail.
 *
 * @example
 * ```ts
 * import { commitReadCredentials, readCommittedCredentials } from "./chain_credentials.ts";
 * import { AccessKey } from "./credentials.ts";
 * import { LocalChain } from "./local_chain.ts";
 * import { Keyring } from "@polkadot/keyring";
 * import { cryptoWaitReady } from "@polkadot/util-crypto";
 * import { strictEqual } from "node:assert/strict";
 *
 * await cryptoWaitReady();
 * const hotkey = new Keyring({ type: "sr25519" }).addFromUri("//Alice");
 * const chain = new LocalChain({ blockTimeMs: 1000 });
 * chain.createSubnet(81);
 * await chain.register(81, hotkey, hotkey);
 * const credentials = { accountId: "acct", read: new AccessKey("key", "secret") };
 * await commitReadCredentials(chain, 81, hotkey, credentials);
 * const { byUid } = await readCommittedCredentials(chain, 81);
 * strictEqual(byUid.get(0)?.credentials.accountId, "acct");
 * ```
 */
export async function readCommittedCredentials(
  chain: Chain,
  netuid: number,
  metagraph?: Metagraph,
): Promise<CommittedCredentialsResult> {
  const [commitments, graph] = await Promise.all([
    chain.commitments(netuid),
    metagraph === undefined ? chain.metagraph(netuid) : Promise.resolve(metagraph),
  ]);
  const uidOf = new Map(graph.hotkeys.map((hotkey, i) => [hotkey, graph.uids[i]]));
  const result: CommittedCredentialsResult = { byUid: new Map(), skipped: [] };
  for (const commitment of commitments) {
    const uid = uidOf.get(commitment.hotkey);
    if (uid === undefined) {
      result.skipped.push({ hotkey: commitment.hotkey, reason: "hotkey not in the metagraph" });
      continue;
    }
    const length = [...commitment.data].length;
    if (length !== COMMITMENT_LENGTH) {
      result.skipped.push({
        hotkey: commitment.hotkey,
        reason: `commitment is ${length} characters, not ${COMMITMENT_LENGTH}`,
      });
      continue;
    }
    try {
      const credentials = decodeCommitment(commitment.data);
      result.byUid.set(uid, {
        uid,
        hotkey: commitment.hotkey,
        block: commitment.block,
        credentials,
      });
    } catch (error) {
      result.skipped.push({ hotkey: commitment.hotkey, reason: (error as Error).message });
    }
  }
  return result;
}

/**
 * Commits the hotkey's read credentials unless the chain already holds the same ones (the
 * reference compares the stripped account id, key id and secret).
 *
 * @param chain The chain.
 * @param netuid The subnet.
 * @param hotkey The committing hotkey (must be registered).
 * @param credentials Bucket (= account id) and read key.
 * @returns Whether a commitment was sent, with its receipt when it was.
 * @throws {RangeError} When the credentials do not fit the 128-character format.
 * @throws {ChainError} When the chain refuses or is unreachable.
 */
export async function commitReadCredentials(
  chain: Chain,
  netuid: number,
  hotkey: ChainSigner,
  credentials: ReadCredentials,
): Promise<{ committed: boolean; receipt?: ChainReceipt }> {
  const encoded = encodeCommitment(credentials);
  const current = (await chain.commitments(netuid)).find((c) => c.hotkey === hotkey.address);
  if (current !== undefined && sameCredentials(current.data, credentials)) {
    return { committed: false };
  }
  return { committed: true, receipt: await chain.setCommitment(netuid, hotkey, encoded) };
}

function sameCredentials(data: string, wanted: ReadCredentials): boolean {
  try {
    const onChain = decodeCommitment(data);
    return onChain.accountId === wanted.accountId.trim() &&
      onChain.read.accessKeyId === wanted.read.accessKeyId.trim() &&
      onChain.read.secretAccessKey === wanted.read.secretAccessKey.trim();
  } catch {
    // Whatever is on chain is not a valid credential: it must be replaced.
    return false;
  }
}
