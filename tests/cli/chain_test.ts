import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { assert, assertEquals } from "../net/_assert.ts";
import { ManualClock } from "../net/_manual_clock.ts";
import { type ChainCliIo, runChainCli } from "../../src/cli/chain.ts";
import { LocalChain } from "../../src/net/local_chain.ts";
import { AccessKey, encodeCommitment } from "../../src/net/credentials.ts";

await cryptoWaitReady();
const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
const alice = keyring.addFromUri("//Alice");
const bob = keyring.addFromUri("//Bob");

interface Run {
  code: number;
  out: string[];
  err: string[];
  endpoints: string[];
}

async function run(args: string[], chain: LocalChain): Promise<Run> {
  const result: Run = { code: -1, out: [], err: [], endpoints: [] };
  const io: ChainCliIo = {
    stdout: (line) => result.out.push(line),
    stderr: (line) => result.err.push(line),
    connect: (endpoint) => {
      result.endpoints.push(endpoint);
      return Promise.resolve(chain);
    },
  };
  result.code = await runChainCli(args, io);
  return result;
}

async function subnet(): Promise<LocalChain> {
  const clock = new ManualClock(1_700_000_000_000);
  const chain = new LocalChain({ blockTimeMs: 12_000, clock });
  clock.advance(12_000 * 95);
  chain.createSubnet(81);
  await chain.register(81, alice, alice);
  await chain.register(81, bob, bob);
  chain.addStake(81, alice.address, 10);
  return chain;
}

Deno.test("runChainCli() block --json prints head, hash and timestamp", async () => {
  const chain = await subnet();
  const r = await run(["block", "--json", "--network", "test"], chain);
  assertEquals(r.code, 0);
  const out = JSON.parse(r.out[0]);
  assertEquals([out.block, out.head, out.hash], [95, 95, await chain.blockHash(95)]);
  assertEquals(out.timestampMs, 1_700_000_000_000 + 95 * 12_000);
  assertEquals(r.endpoints, ["wss://test.finney.opentensor.ai:443"]);
});

Deno.test("runChainCli() block --block reads an earlier block and its window", async () => {
  const r = await run(["block", "--block", "61", "--network", "ws://127.0.0.1:1"], await subnet());
  assertEquals(r.code, 0);
  assert(r.out[0].includes("61 (head 95)"), r.out[0]);
  assert(r.out.includes("window    60"), r.out.join("\n"));
});

Deno.test("runChainCli() metagraph --json prints the metagraph", async () => {
  const r = await run(["metagraph", "--netuid", "81", "--json"], await subnet());
  assertEquals(r.code, 0);
  const m = JSON.parse(r.out[0]);
  assertEquals([m.uids, m.hotkeys, m.stake], [[0, 1], [alice.address, bob.address], [10, 0]]);
});

Deno.test("runChainCli() metagraph prints one row per uid", async () => {
  const r = await run(["metagraph", "--netuid", "81"], await subnet());
  assertEquals(r.code, 0);
  assertEquals(r.out.length, 4);
  assert(r.out[2].startsWith(`0\t${alice.address}`), r.out[2]);
});

Deno.test("runChainCli() commitments decodes credentials and redacts the secret", async () => {
  const chain = await subnet();
  const secret = "s".repeat(64);
  await chain.setCommitment(
    81,
    bob,
    encodeCommitment({ accountId: "acct", read: new AccessKey("keyid", secret) }),
  );
  await chain.setCommitment(81, alice, "hello");
  const r = await run(["commitments", "--netuid", "81", "--json"], chain);
  assertEquals(r.code, 0);
  const rows = JSON.parse(r.out[0]);
  assertEquals(rows[0], { uid: 0, hotkey: alice.address, block: 95, data: "hello" });
  assertEquals(rows[1].accountId, "acct");
  assertEquals(rows[1].secret, "[redacted]");
  assert(!r.out[0].includes(secret), "secret printed");
});

Deno.test("runChainCli() commitments --show-secrets prints the read secret", async () => {
  const chain = await subnet();
  const secret = "t".repeat(64);
  await chain.setCommitment(
    81,
    bob,
    encodeCommitment({ accountId: "acct", read: new AccessKey("keyid", secret) }),
  );
  const r = await run(["commitments", "--netuid", "81", "--show-secrets"], chain);
  assertEquals(r.code, 0);
  assert(r.out[1].includes(secret), r.out[1]);
});

Deno.test("runChainCli() set-weights sends u16 weights signed by --seed", async () => {
  const chain = await subnet();
  const r = await run(
    [
      "set-weights",
      "--netuid",
      "81",
      "--uids",
      "0,1",
      "--weights",
      "0.9,0.1",
      "--seed",
      "//Alice",
      "--json",
    ],
    chain,
  );
  assertEquals(r.code, 0, r.err.join("\n"));
  const receipt = JSON.parse(r.out[0]);
  assertEquals([receipt.uids, receipt.weights, receipt.versionKey], [
    [0, 1],
    [65535, 7282],
    9012001,
  ]);
  // Incentive of the local chain: the one setter's row, normalised, quantised to u16 (exact).
  const total = 65535 + 7282;
  assertEquals((await chain.metagraph(81)).incentive, [
    Math.round((65535 / total) * 65535) / 65535,
    Math.round((7282 / total) * 65535) / 65535,
  ]);
});

Deno.test("runChainCli() set-weights signs with the hotkey of a wallet folder", async () => {
  const chain = await subnet();
  // A golden wallet of the wallet tests; its hotkey "from_seed" has this address.
  const root = new URL("../fixtures/net/wallets", import.meta.url).pathname;
  const hotkey = "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX";
  await chain.register(81, { address: hotkey } as typeof alice, alice);
  const r = await run(
    [
      "set-weights",
      "--netuid",
      "81",
      "--uids",
      "0,1,2",
      "--weights",
      "0,0,1",
      "--wallet",
      "golden",
      "--hotkey",
      "from_seed",
      "--wallet-path",
      root,
    ],
    chain,
  );
  assertEquals(r.code, 0, r.err.join("\n"));
  assertEquals((await chain.metagraph(81)).lastUpdate[2], 95);
  assert(r.out[0].includes(hotkey), r.out[0]);
});

Deno.test("runChainCli() set-weights reports a missing wallet with exit code 1", async () => {
  const r = await run(
    [
      "set-weights",
      "--netuid",
      "81",
      "--uids",
      "0",
      "--weights",
      "1",
      "--wallet",
      "nope",
      "--hotkey",
      "h",
      "--wallet-path",
      "/nonexistent",
    ],
    await subnet(),
  );
  assertEquals(r.code, 1);
  assert(r.err[0].includes("[not_found]"), r.err[0]);
});

Deno.test("runChainCli() set-weights reports a chain refusal with exit code 1", async () => {
  const chain = await subnet();
  const r = await run(
    ["set-weights", "--netuid", "81", "--uids", "0,7", "--weights", "1,1", "--seed", "//Alice"],
    chain,
  );
  assertEquals(r.code, 1);
  assert(r.err[0].includes("[invalid_weights]") && r.err[0].includes("uid 7"), r.err[0]);
});

Deno.test("runChainCli() set-weights without a signer is a usage error", async () => {
  const r = await run(
    ["set-weights", "--netuid", "81", "--uids", "0", "--weights", "1"],
    await subnet(),
  );
  assertEquals(r.code, 2);
  assert(r.err[0].includes("--seed"), r.err[0]);
});

Deno.test("runChainCli() rejects a negative weight naming it", async () => {
  const r = await run(
    ["set-weights", "--netuid", "81", "--uids", "0,1", "--weights", "1,-2", "--seed", "//Alice"],
    await subnet(),
  );
  assertEquals(r.code, 2);
  assert(r.err[0].includes("-2"), r.err[0]);
});

Deno.test("runChainCli() rejects a missing --netuid", async () => {
  const r = await run(["metagraph"], await subnet());
  assertEquals(r.code, 2);
  assert(r.err[0].includes("--netuid"), r.err[0]);
});

Deno.test("runChainCli() rejects an unknown network before connecting", async () => {
  const r = await run(["block", "--network", "mainnet"], await subnet());
  assertEquals([r.code, r.endpoints], [2, []]);
  assert(r.err[0].includes("mainnet"), r.err[0]);
});

Deno.test("runChainCli() rejects an unknown subcommand", async () => {
  const r = await run(["weights"], await subnet());
  assertEquals(r.code, 2);
});

Deno.test("runChainCli() reports a missing subnet with exit code 1", async () => {
  const r = await run(["metagraph", "--netuid", "9"], await subnet());
  assertEquals(r.code, 1);
  assert(r.err[0].includes("[subnet_not_found]"), r.err[0]);
});
