import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { assert, assertEquals } from "./_assert.ts";
import { ManualClock } from "./_manual_clock.ts";
import { LocalChain } from "../../src/net/local_chain.ts";
import { AccessKey, encodeCommitment } from "../../src/net/credentials.ts";
import {
  commitReadCredentials,
  readCommittedCredentials,
} from "../../src/net/chain_credentials.ts";

await cryptoWaitReady();
const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
const [owner, miner, stranger] = ["//Alice", "//Bob", "//Charlie"].map((u) =>
  keyring.addFromUri(u)
);
const CREDS = { accountId: "a".repeat(32), read: new AccessKey("k".repeat(32), "s".repeat(64)) };

async function setup() {
  const clock = new ManualClock(0);
  const chain = new LocalChain({ blockTimeMs: 1000, clock, genesisMs: 0 });
  chain.createSubnet(81);
  chain.createSubnet(82);
  await chain.register(81, owner, owner);
  await chain.register(81, miner, miner);
  await chain.register(82, stranger, stranger);
  return { clock, chain };
}

Deno.test("readCommittedCredentials() maps valid commitments to uids", async () => {
  const { chain } = await setup();
  await chain.setCommitment(81, miner, encodeCommitment(CREDS));
  const { byUid, skipped } = await readCommittedCredentials(chain, 81);
  assertEquals([...byUid.keys()], [1]);
  const entry = byUid.get(1)!;
  assertEquals([entry.hotkey, entry.credentials.accountId], [miner.address, "a".repeat(32)]);
  assertEquals(entry.credentials.read.secretAccessKey, "s".repeat(64));
  assertEquals(skipped, []);
});

Deno.test("readCommittedCredentials() skips commitments that are not 128 characters", async () => {
  const { chain } = await setup();
  await chain.setCommitment(81, owner, "x".repeat(127));
  const { byUid, skipped } = await readCommittedCredentials(chain, 81);
  assertEquals(byUid.size, 0);
  assert(skipped[0].reason.includes("127 characters"), skipped[0].reason);
});

Deno.test("readCommittedCredentials() skips 128 characters that do not parse", async () => {
  const { chain } = await setup();
  await chain.setCommitment(81, owner, " ".repeat(128));
  const { byUid, skipped } = await readCommittedCredentials(chain, 81);
  assertEquals([byUid.size, skipped.length], [0, 1]);
});

Deno.test("readCommittedCredentials() skips hotkeys missing from the given metagraph", async () => {
  const { chain } = await setup();
  await chain.setCommitment(81, miner, encodeCommitment(CREDS));
  const metagraph = await chain.metagraph(81);
  const withoutMiner = { ...metagraph, uids: [0], hotkeys: [owner.address] };
  const { byUid, skipped } = await readCommittedCredentials(chain, 81, withoutMiner);
  assertEquals(byUid.size, 0);
  assertEquals(skipped, [{ hotkey: miner.address, reason: "hotkey not in the metagraph" }]);
});

Deno.test("commitReadCredentials() commits when nothing is on chain", async () => {
  const { chain } = await setup();
  const result = await commitReadCredentials(chain, 81, owner, CREDS);
  assertEquals(result.committed, true);
  assertEquals((await chain.commitments(81))[0].data, encodeCommitment(CREDS));
});

Deno.test("commitReadCredentials() leaves identical credentials alone", async () => {
  const { clock, chain } = await setup();
  await commitReadCredentials(chain, 81, owner, CREDS);
  clock.advance(5000);
  const again = await commitReadCredentials(chain, 81, owner, CREDS);
  assertEquals(again.committed, false);
  assertEquals((await chain.commitments(81))[0].block, 0);
});

Deno.test("commitReadCredentials() replaces different credentials", async () => {
  const { clock, chain } = await setup();
  await commitReadCredentials(chain, 81, owner, CREDS);
  clock.advance(5000);
  const rotated = { accountId: CREDS.accountId, read: new AccessKey("k2", "s2") };
  const result = await commitReadCredentials(chain, 81, owner, rotated);
  assertEquals([result.committed, result.receipt?.block], [true, 5]);
  const { byUid } = await readCommittedCredentials(chain, 81);
  assertEquals(byUid.get(0)?.credentials.read.accessKeyId, "k2");
});
