import { deepStrictEqual, rejects, throws } from "node:assert/strict";
import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { LocalChain } from "../../src/net/local_chain.ts";
import { LocalBeacon } from "../../src/net/local_beacon.ts";
import { AccessKey, encodeCommitment } from "../../src/net/credentials.ts";
import { FolderStore } from "../../src/net/folder_store.ts";
import { loadHotkey } from "../../src/net/wallet.ts";
import { minerCombinedRandomness } from "../../src/protocol/seeds.ts";
import { signSr25519, verifySr25519 } from "../../src/protocol/signature.ts";
import {
  committedBuckets,
  identityFromPair,
  minerWindowBeacon,
  sha256Hex,
  trainerStore,
  validatorChallengeRandomness,
} from "../../src/roles/network.ts";

await cryptoWaitReady();
const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });

function setup() {
  let nowMs = 1_700_000_000_000;
  const clock = { nowMs: () => nowMs, sleep: (ms: number) => Promise.resolve(void (nowMs += ms)) };
  const chain = new LocalChain({ blockTimeMs: 12_000, clock, genesisMs: nowMs });
  chain.createSubnet(2);
  nowMs += 100 * 12_000;
  const beacon = new LocalBeacon({
    seed: new Uint8Array(32).fill(3),
    genesisTime: 1_699_000_000,
    periodSeconds: 3,
  });
  const drand = {
    chain: beacon.info,
    get: (round: number) => Promise.resolve(beacon.beacon(round)),
  };
  return { chain, drand, beacon };
}

Deno.test("identityFromPair() gives the protocol key pair of a keyring pair (signatures verify)", () => {
  const id = identityFromPair(keyring.addFromUri("//Alice//miner"));
  const msg = new TextEncoder().encode("x");
  deepStrictEqual(verifySr25519(msg, signSr25519(msg, id.keypair), id.hotkey), true);
  deepStrictEqual(id.hotkey, id.pair.address);
});

Deno.test("identityFromPair() refuses a non-sr25519 key", () => {
  throws(() => identityFromPair(new Keyring({ type: "ed25519" }).addFromUri("//Alice")), /sr25519/);
});

Deno.test("minerWindowBeacon() hashes W's block hash with the round current at W's timestamp", async () => {
  const { chain, drand, beacon } = setup();
  const b = await minerWindowBeacon(chain, drand, 60);
  const ts = (await chain.blockTimestampMs(60)) / 1000;
  const round = Math.floor((ts - 1_699_000_000) / 3) + 1;
  deepStrictEqual(b.round, round);
  deepStrictEqual(
    b.randomness,
    minerCombinedRandomness(await chain.blockHash(60), beacon.beacon(round).randomness),
  );
});

Deno.test("minerWindowBeacon() without drand hashes the block hash (hex, no 0x)", async () => {
  const { chain } = setup();
  const b = await minerWindowBeacon(chain, null, 60);
  deepStrictEqual([b.round, b.randomness], [null, sha256Hex(await chain.blockHash(60))]);
});

Deno.test("validatorChallengeRandomness() hashes the block after the deadline with its round", async () => {
  const { chain, drand, beacon } = setup();
  const ts = (await chain.blockTimestampMs(90)) / 1000;
  const round = Math.floor((ts - 1_699_000_000) / 3) + 1;
  deepStrictEqual(
    await validatorChallengeRandomness(chain, drand, 60),
    sha256Hex((await chain.blockHash(90)) + beacon.beacon(round).randomness),
  );
  deepStrictEqual(
    await validatorChallengeRandomness(chain, null, 60),
    sha256Hex(await chain.blockHash(90)),
  );
});

Deno.test("committedBuckets() and trainerStore() find buckets through commitments, skipping junk", async () => {
  const { chain } = setup();
  const cold = keyring.addFromUri("//Alice");
  const owner = keyring.addFromUri("//Alice//owner");
  const other = keyring.addFromUri("//Alice//other");
  await chain.register(2, owner, cold);
  await chain.register(2, other, cold);
  const creds = { accountId: "owner-bucket", read: new AccessKey("rid", "read-secret") };
  await chain.setCommitment(2, owner, encodeCommitment(creds));
  await chain.setCommitment(2, other, "not a credential");
  const buckets = await committedBuckets(chain, 2);
  deepStrictEqual([...buckets.keys()], [owner.address]);
  const dir = await Deno.makeTempDir();
  try {
    const store = new FolderStore(dir);
    const got = await trainerStore(chain, 2, {
      own: store,
      reader: (c) => (c.accountId === "owner-bucket" ? store : (() => {
        throw new Error();
      })()),
    });
    deepStrictEqual(got, store);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainerStore() explains a UID 0 without a commitment", async () => {
  const { chain } = setup();
  await chain.register(2, keyring.addFromUri("//Alice//owner"), keyring.addFromUri("//Alice"));
  await rejects(
    () =>
      trainerStore(chain, 2, {
        own: new FolderStore("/tmp/x"),
        reader: () => new FolderStore("/tmp/x"),
      }),
    /UID 0 .* has no bucket commitment on subnet 2/,
  );
});

Deno.test("identityFromPair() works on hotkeys loaded from bittensor keyfiles (seed, private key, mnemonic)", async () => {
  const root = new URL("../fixtures/net/wallets", import.meta.url).pathname;
  for (const hotkey of ["from_seed", "from_private_key", "from_phrase"]) {
    const pair = await loadHotkey({ root, name: "golden", hotkey });
    const id = identityFromPair(pair);
    const msg = new TextEncoder().encode(hotkey);
    deepStrictEqual(verifySr25519(msg, signSr25519(msg, id.keypair), pair.publicKey), true, hotkey);
  }
});
