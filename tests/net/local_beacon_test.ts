// The local beacon is served over real loopback HTTP and verified by the same DrandClient code
// that verifies quicknet.
import { assert, assertEquals, assertRejectsWithCode } from "./_assert.ts";
import { DrandClient, QUICKNET, roundTime, verifyBeacon } from "../../src/net/drand.ts";
import { DrandError } from "../../src/net/errors.ts";
import { LocalBeacon } from "../../src/net/local_beacon.ts";
import { ManualClock } from "./_manual_clock.ts";

const GENESIS = 1_700_000_000;
const SEED = new Uint8Array(32).fill(42);

Deno.test("LocalBeacon derives the same key from the same seed", () => {
  const a = new LocalBeacon({ seed: SEED, genesisTime: GENESIS });
  const b = new LocalBeacon({ seed: SEED, genesisTime: GENESIS });
  assertEquals(a.info, b.info);
  assertEquals(a.beacon(9), b.beacon(9));
});

Deno.test("LocalBeacon keys from different seeds do not verify each other's beacons", () => {
  const a = new LocalBeacon({ seed: SEED, genesisTime: GENESIS });
  const b = new LocalBeacon({ seed: new Uint8Array(32).fill(43), genesisTime: GENESIS });
  let caught: unknown;
  try {
    verifyBeacon(a.info, b.beacon(9));
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof DrandError && caught.code === "bad_signature");
});

Deno.test("LocalBeacon rejects a seed shorter than 32 bytes", () => {
  let caught: unknown;
  try {
    new LocalBeacon({ seed: new Uint8Array(16), genesisTime: GENESIS });
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof RangeError);
});

Deno.test("LocalBeacon.serve() beacons verify through DrandClient over loopback", async () => {
  const beacon = new LocalBeacon({ seed: SEED, genesisTime: GENESIS });
  const clock = new ManualClock(roundTime(beacon.info, 500) * 1000 + 1000);
  const server = await beacon.serve({ clock });
  try {
    const client = new DrandClient({ chain: beacon.info, relays: [server.url], clock });
    assertEquals(await client.get(123), beacon.beacon(123));
    assertEquals((await client.latest()).round, 500);
  } finally {
    await server.close();
  }
});

Deno.test("LocalBeacon.serve() answers its chain info in drand's shape", async () => {
  const beacon = new LocalBeacon({ seed: SEED, genesisTime: GENESIS, periodSeconds: 2 });
  const server = await beacon.serve({ clock: new ManualClock(GENESIS * 1000) });
  try {
    const info = await (await fetch(`${server.url}/${beacon.info.hash}/info`)).json();
    assertEquals(info.public_key, beacon.info.publicKey);
    assertEquals([info.period, info.genesis_time, info.schemeID], [
      2,
      GENESIS,
      "bls-unchained-g1-rfc9380",
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("LocalBeacon.serve() does not serve future rounds and the client fails closed", async () => {
  const beacon = new LocalBeacon({ seed: SEED, genesisTime: GENESIS });
  const clock = new ManualClock(roundTime(beacon.info, 10) * 1000);
  const server = await beacon.serve({ clock });
  try {
    const client = new DrandClient({ chain: beacon.info, relays: [server.url], clock });
    const error = await assertRejectsWithCode(
      () => client.get(11),
      DrandError,
      "all_relays_failed",
    );
    assert(error.message.includes("HTTP 404"));
  } finally {
    await server.close();
  }
});

Deno.test("DrandClient pinned to quicknet refuses the local beacon's signatures", async () => {
  const beacon = new LocalBeacon({ seed: SEED, genesisTime: GENESIS });
  const clock = new ManualClock(roundTime(beacon.info, 50) * 1000);
  const server = await beacon.serve({ clock });
  try {
    // Route quicknet's path to the local server to impersonate a relay.
    const client = new DrandClient({
      relays: [server.url],
      clock,
      fetch: (url, init) => fetch(url.replace(QUICKNET.hash, beacon.info.hash), init),
    });
    const error = await assertRejectsWithCode(() => client.get(7), DrandError, "all_relays_failed");
    assert(error.message.includes("bad_signature"));
  } finally {
    await server.close();
  }
});

Deno.test("DrandClient detects a beacon tampered in transit from the local beacon", async () => {
  const beacon = new LocalBeacon({ seed: SEED, genesisTime: GENESIS });
  const clock = new ManualClock(roundTime(beacon.info, 50) * 1000);
  const server = await beacon.serve({ clock });
  try {
    const client = new DrandClient({
      chain: beacon.info,
      relays: [server.url],
      clock,
      fetch: async (url, init) => {
        const body = await (await fetch(url, init)).json();
        // Keep the signature, forge the randomness a miner would use.
        return Response.json({ ...body, randomness: "00".repeat(32) });
      },
    });
    const error = await assertRejectsWithCode(() => client.get(7), DrandError, "all_relays_failed");
    assert(error.message.includes("bad_randomness"));
  } finally {
    await server.close();
  }
});
