import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { assert, assertEquals, assertRejectsWithCode } from "./_assert.ts";
import { ManualClock } from "./_manual_clock.ts";
import { LocalChain } from "../../src/net/local_chain.ts";
import { ChainError } from "../../src/net/chain_errors.ts";

await cryptoWaitReady();
const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
const cold = keyring.addFromUri("//Alice");
const hot = [0, 1, 2, 3].map((i) => keyring.addFromUri(`//Alice//hot${i}`));
const GENESIS_MS = 1_700_000_000_000;

function setup(options: { blockTimeMs?: number } = {}) {
  const clock = new ManualClock(GENESIS_MS);
  const chain = new LocalChain({ blockTimeMs: options.blockTimeMs ?? 1000, clock });
  return { clock, chain };
}

Deno.test("LocalChain.currentBlock() advances one block per blockTimeMs of the clock", async () => {
  const { clock, chain } = setup({ blockTimeMs: 250 });
  assertEquals(await chain.currentBlock(), 0);
  clock.advance(249);
  assertEquals(await chain.currentBlock(), 0);
  clock.advance(1);
  assertEquals(await chain.currentBlock(), 1);
  clock.advance(2500);
  assertEquals(await chain.currentBlock(), 11);
});

Deno.test("LocalChain.blockHash() is 0x plus 64 lower-case hex, stable and distinct", async () => {
  const { clock, chain } = setup();
  clock.advance(10_000);
  const hashes = await Promise.all([0, 1, 2, 10].map((b) => chain.blockHash(b)));
  for (const hash of hashes) assert(/^0x[0-9a-f]{64}$/.test(hash), `bad hash ${hash}`);
  assertEquals(new Set(hashes).size, 4);
  assertEquals(await chain.blockHash(2), hashes[2]);
  // Independent restatement of the documented derivation: sha256 of "seed:block".
  assertEquals(hashes[3], "0x" + bytesToHex(sha256(new TextEncoder().encode("grail-local:10"))));
});

Deno.test("LocalChain.blockHash() depends on the seed", async () => {
  const clock = new ManualClock(GENESIS_MS);
  const a = new LocalChain({ blockTimeMs: 1000, clock, seed: "a" });
  const b = new LocalChain({ blockTimeMs: 1000, clock, seed: "b" });
  assert((await a.blockHash(0)) !== (await b.blockHash(0)), "seeds share a hash");
});

Deno.test("LocalChain.blockHash() beyond the head fails with block_not_found", async () => {
  const { chain } = setup();
  await assertRejectsWithCode(() => chain.blockHash(1), ChainError, "block_not_found");
});

Deno.test("LocalChain.blockTimestampMs() is genesis plus block times, in ms", async () => {
  const { clock, chain } = setup({ blockTimeMs: 12_000 });
  clock.advance(36_500);
  assertEquals(await chain.blockTimestampMs(0), GENESIS_MS);
  assertEquals(await chain.blockTimestampMs(3), GENESIS_MS + 36_000);
  await assertRejectsWithCode(() => chain.blockTimestampMs(4), ChainError, "block_not_found");
});

Deno.test("LocalChain.register() assigns uids in order and refuses duplicates", async () => {
  const { chain } = setup();
  chain.createSubnet(81);
  assertEquals(await chain.register(81, hot[0], cold), 0);
  assertEquals(await chain.register(81, hot[1], cold), 1);
  assertEquals(await chain.uidOf(81, hot[1].address), 1);
  assertEquals(await chain.uidOf(81, hot[2].address), null);
  await assertRejectsWithCode(
    () => chain.register(81, hot[0], cold),
    ChainError,
    "already_registered",
  );
});

Deno.test("LocalChain.register() refuses when the subnet is full", async () => {
  const { chain } = setup();
  chain.createSubnet(1, { maxUids: 1 });
  await chain.register(1, hot[0], cold);
  await assertRejectsWithCode(() => chain.register(1, hot[1], cold), ChainError, "subnet_full");
});

Deno.test("LocalChain.metagraph() fails with subnet_not_found for an unknown netuid", async () => {
  const { chain } = setup();
  await assertRejectsWithCode(() => chain.metagraph(81), ChainError, "subnet_not_found");
});

Deno.test("LocalChain.metagraph() lists registered neurons with keys, stake and last update", async () => {
  const { clock, chain } = setup();
  chain.createSubnet(81);
  await chain.register(81, hot[0], cold);
  clock.advance(3000);
  await chain.register(81, hot[1], cold);
  chain.addStake(81, hot[0].address, 1.5);
  const metagraph = await chain.metagraph(81);
  assertEquals(metagraph.uids, [0, 1]);
  assertEquals(metagraph.hotkeys, [hot[0].address, hot[1].address]);
  assertEquals(metagraph.coldkeys, [cold.address, cold.address]);
  assertEquals(metagraph.stake, [1.5, 0]);
  assertEquals(metagraph.lastUpdate, [0, 3]);
  assertEquals(metagraph.validatorPermit, [true, false]);
  assertEquals(metagraph.block, 3);
});

Deno.test("LocalChain.metagraph() of an empty subnet has empty arrays", async () => {
  const { chain } = setup();
  chain.createSubnet(2);
  const metagraph = await chain.metagraph(2);
  assertEquals([metagraph.uids, metagraph.hotkeys, metagraph.incentive], [[], [], []]);
});

Deno.test("LocalChain.setWeights() stores the SDK's u16 vector and updates lastUpdate", async () => {
  const { clock, chain } = setup();
  chain.createSubnet(81);
  for (const key of hot.slice(0, 3)) await chain.register(81, key, cold);
  clock.advance(7000);
  const receipt = await chain.setWeights(81, hot[0], [0, 1, 2], [0.9, 0.1, 0]);
  assertEquals([receipt.uids, receipt.weights, receipt.block], [[0, 1], [65535, 7282], 7]);
  assertEquals(receipt.versionKey, 9012001);
  assertEquals(receipt.blockHash, await chain.blockHash(7));
  assertEquals((await chain.metagraph(81)).lastUpdate, [7, 0, 0]);
});

Deno.test("LocalChain.metagraph() derives incentive from stake-weighted weights", async () => {
  const { chain } = setup();
  chain.createSubnet(81);
  for (const key of hot) await chain.register(81, key, cold);
  chain.addStake(81, hot[0].address, 3);
  chain.addStake(81, hot[1].address, 1);
  await chain.setWeights(81, hot[0], [2], [1]);
  await chain.setWeights(81, hot[1], [2, 3], [1, 1]);
  // Votes: uid0 has 3/4 of the stake, all on uid2; uid1 has 1/4, split evenly over uids 2 and 3.
  // Expected quantised to u16 as the chain stores it: 0.875 and 0.125 (tolerance: exact u16).
  const incentive = (await chain.metagraph(81)).incentive;
  assertEquals(incentive, [
    0,
    0,
    Math.round(0.875 * 65535) / 65535,
    Math.round(0.125 * 65535) / 65535,
  ]);
});

Deno.test("LocalChain.setWeights() refuses an unregistered hotkey", async () => {
  const { chain } = setup();
  chain.createSubnet(81);
  await chain.register(81, hot[0], cold);
  await assertRejectsWithCode(
    () => chain.setWeights(81, hot[1], [0], [1]),
    ChainError,
    "not_registered",
  );
});

Deno.test("LocalChain.setWeights() enforces WeightsSetRateLimit", async () => {
  const { clock, chain } = setup();
  chain.createSubnet(81, { weightsSetRateLimit: 5 });
  await chain.register(81, hot[0], cold);
  await assertRejectsWithCode(
    () => chain.setWeights(81, hot[0], [0], [1]),
    ChainError,
    "rate_limited",
  );
  clock.advance(5000);
  await chain.setWeights(81, hot[0], [0], [1]);
  clock.advance(4000);
  await assertRejectsWithCode(
    () => chain.setWeights(81, hot[0], [0], [1]),
    ChainError,
    "rate_limited",
  );
});

Deno.test("LocalChain.setWeights() refuses a version key below WeightsVersionKey", async () => {
  const { chain } = setup();
  chain.createSubnet(81, { weightsVersionKey: 9_013_000 });
  await chain.register(81, hot[0], cold);
  await assertRejectsWithCode(
    () => chain.setWeights(81, hot[0], [0], [1]),
    ChainError,
    "version_key_too_low",
  );
  const receipt = await chain.setWeights(81, hot[0], [0], [1], { versionKey: 9_013_000 });
  assertEquals(receipt.versionKey, 9_013_000);
});

Deno.test("LocalChain.setWeights() refuses subnets with commit-reveal weights", async () => {
  const { chain } = setup();
  chain.createSubnet(81, { commitRevealWeightsEnabled: true });
  await chain.register(81, hot[0], cold);
  await assertRejectsWithCode(
    () => chain.setWeights(81, hot[0], [0], [1]),
    ChainError,
    "commit_reveal_required",
  );
});

Deno.test("LocalChain.setWeights() refuses unknown and duplicate destination uids", async () => {
  const { chain } = setup();
  chain.createSubnet(81);
  await chain.register(81, hot[0], cold);
  await assertRejectsWithCode(
    () => chain.setWeights(81, hot[0], [0, 1], [1, 1]),
    ChainError,
    "invalid_weights",
  );
  await assertRejectsWithCode(
    () => chain.setWeights(81, hot[0], [0, 0], [1, 1]),
    ChainError,
    "invalid_weights",
  );
});

Deno.test("LocalChain.setCommitment() stores the data with its block, readable by commitments()", async () => {
  const { clock, chain } = setup();
  chain.createSubnet(81);
  await chain.register(81, hot[0], cold);
  await chain.register(81, hot[1], cold);
  clock.advance(2000);
  const data = "x".repeat(128);
  const receipt = await chain.setCommitment(81, hot[1], data);
  assertEquals(receipt.block, 2);
  assertEquals(await chain.commitments(81), [{ hotkey: hot[1].address, block: 2, data }]);
});

Deno.test("LocalChain.setCommitment() replaces an earlier commitment of the same hotkey", async () => {
  const { chain } = setup();
  chain.createSubnet(81);
  await chain.register(81, hot[0], cold);
  await chain.setCommitment(81, hot[0], "old");
  await chain.setCommitment(81, hot[0], "new");
  assertEquals((await chain.commitments(81)).map((c) => c.data), ["new"]);
});

Deno.test("LocalChain.setCommitment() refuses more than 128 bytes", async () => {
  const { chain } = setup();
  chain.createSubnet(81);
  await chain.register(81, hot[0], cold);
  let caught: unknown;
  try {
    await chain.setCommitment(81, hot[0], "é".repeat(65)); // 130 UTF-8 bytes
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof RangeError && caught.message.includes("130"), String(caught));
});

Deno.test("LocalChain.setCommitment() refuses an unregistered hotkey", async () => {
  const { chain } = setup();
  chain.createSubnet(81);
  await assertRejectsWithCode(
    () => chain.setCommitment(81, hot[0], "x"),
    ChainError,
    "not_registered",
  );
});

Deno.test("LocalChain.createSubnet() refuses an existing netuid", () => {
  const { chain } = setup();
  chain.createSubnet(81);
  let caught: unknown;
  try {
    chain.createSubnet(81);
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof RangeError, String(caught));
});

Deno.test("LocalChain constructor refuses a non-positive block time", () => {
  let caught: unknown;
  try {
    new LocalChain({ blockTimeMs: 0 });
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof RangeError && caught.message.includes("0"), String(caught));
});
