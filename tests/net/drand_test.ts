// Golden data: published quicknet beacons (tests/fixtures/net/README.md). All checks are exact
// (signatures verify or not; randomness is compared as hex strings).
import { assert, assertEquals, assertRejectsWithCode } from "./_assert.ts";
import {
  type DrandChainInfo,
  DrandClient,
  QUICKNET,
  REFERENCE_RELAYS,
  roundAt,
  roundTime,
  verifyBeacon,
} from "../../src/net/drand.ts";
import { DrandError } from "../../src/net/errors.ts";
import { ManualClock } from "./_manual_clock.ts";

interface Fixture {
  info: {
    public_key: string;
    period: number;
    genesis_time: number;
    hash: string;
    schemeID: string;
  };
  beacons: { round: number; randomness: string; signature: string }[];
  other_chain_g1_rfc9380: {
    info: Fixture["info"];
    beacon: { round: number; randomness: string; signature: string };
  };
}

const FIXTURE: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/net/quicknet_beacons.json", import.meta.url)),
);
const BEACONS = FIXTURE.beacons;
const [ROUND_1, ROUND_2, ROUND_3] = BEACONS;

function chainFrom(info: Fixture["info"]): DrandChainInfo {
  return {
    publicKey: info.public_key,
    periodSeconds: info.period,
    genesisTime: info.genesis_time,
    hash: info.hash,
    schemeId: info.schemeID,
  };
}

/** Flips one bit of a hex string at nibble `index`. */
function flipNibble(hex: string, index: number): string {
  const nibble = (parseInt(hex[index], 16) ^ 1).toString(16);
  return hex.slice(0, index) + nibble + hex.slice(index + 1);
}

function throwsDrand(fn: () => unknown, code: string): DrandError {
  try {
    fn();
  } catch (error) {
    assert(error instanceof DrandError, `expected DrandError, got ${error}`);
    assertEquals(error.code, code, error.message);
    return error;
  }
  throw new Error(`expected DrandError ${code}`);
}

Deno.test("QUICKNET matches the published chain info", () => {
  assertEquals(QUICKNET, chainFrom(FIXTURE.info));
});

Deno.test("verifyBeacon() accepts every published quicknet beacon and recomputes its randomness", () => {
  for (const beacon of BEACONS) {
    const verified = verifyBeacon(QUICKNET, beacon, beacon.round);
    assertEquals(verified, beacon, `round ${beacon.round}`);
  }
  assertEquals(BEACONS.length, 8);
});

Deno.test("verifyBeacon() accepts a beacon of another chain of the same scheme under its key", () => {
  const other = FIXTURE.other_chain_g1_rfc9380;
  assertEquals(
    verifyBeacon(chainFrom(other.info), other.beacon).randomness,
    other.beacon.randomness,
  );
});

Deno.test("verifyBeacon() rejects another chain's beacon under the quicknet key", () => {
  throwsDrand(() => verifyBeacon(QUICKNET, FIXTURE.other_chain_g1_rfc9380.beacon), "bad_signature");
});

Deno.test("verifyBeacon() rejects a signature with one flipped bit", () => {
  // Flipping a low nibble keeps a valid-looking encoding; it is either off-curve or wrong.
  for (const index of [10, 50, 95]) {
    throwsDrand(
      () => verifyBeacon(QUICKNET, { ...ROUND_3, signature: flipNibble(ROUND_3.signature, index) }),
      "bad_signature",
    );
  }
});

Deno.test("verifyBeacon() rejects a genuine signature presented for another round", () => {
  throwsDrand(
    () => verifyBeacon(QUICKNET, { ...ROUND_2, round: 3, randomness: undefined }),
    "bad_signature",
  );
});

Deno.test("verifyBeacon() rejects randomness that is not sha256 of the signature", () => {
  const error = throwsDrand(
    () => verifyBeacon(QUICKNET, { ...ROUND_1, randomness: ROUND_2.randomness }),
    "bad_randomness",
  );
  assert(error.message.includes(ROUND_1.randomness));
});

Deno.test("verifyBeacon() rejects a round other than the one requested", () => {
  throwsDrand(() => verifyBeacon(QUICKNET, ROUND_2, 3), "round_mismatch");
});

Deno.test("verifyBeacon() rejects a malformed beacon naming the field", () => {
  assert(
    throwsDrand(() => verifyBeacon(QUICKNET, { ...ROUND_1, round: 0 }), "malformed").message
      .includes("round"),
  );
  assert(
    throwsDrand(() => verifyBeacon(QUICKNET, { ...ROUND_1, signature: "abc" }), "malformed").message
      .includes("signature"),
  );
  throwsDrand(() => verifyBeacon(QUICKNET, "not an object"), "malformed");
});

Deno.test("roundAt() starts at round 1 at genesis and steps every period", () => {
  const g = QUICKNET.genesisTime;
  assertEquals([g, g + 2.999, g + 3, g + 2997].map((t) => roundAt(QUICKNET, t)), [1, 1, 2, 1000]);
});

Deno.test("roundAt() refuses a time before genesis", () => {
  let caught: unknown;
  try {
    roundAt(QUICKNET, QUICKNET.genesisTime - 1);
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof RangeError);
});

Deno.test("roundTime() inverts roundAt() for the published rounds", () => {
  for (const { round } of BEACONS) {
    assertEquals(roundAt(QUICKNET, roundTime(QUICKNET, round)), round);
  }
  assertEquals(roundTime(QUICKNET, 30662982), 1692803367 + 30662981 * 3);
});

// ---- DrandClient with injected fetch and clock ----

const BEACON_BY_ROUND = new Map(BEACONS.map((b) => [b.round, b]));
const LATEST = BEACONS[BEACONS.length - 1];
/** A clock set to the time of the newest published round. */
function clockAtLatest(): ManualClock {
  return new ManualClock(roundTime(QUICKNET, LATEST.round) * 1000 + 500);
}

type Behaviour = "good" | "hang" | "500" | "tampered" | "wrong_round" | "garbage" | "huge";

function relayFetch(behaviours: Record<string, Behaviour>, clock: ManualClock, seen: string[]) {
  return (url: string, init: { signal: AbortSignal }): Promise<Response> => {
    seen.push(url);
    const relay = Object.keys(behaviours).find((r) => url.startsWith(r))!;
    const path = url.slice(url.lastIndexOf("/") + 1);
    const beacon = path === "latest" ? LATEST : BEACON_BY_ROUND.get(Number(path));
    switch (behaviours[relay]) {
      case "hang":
        return new Promise((_, reject) => {
          init.signal.addEventListener("abort", () => reject(init.signal.reason));
          clock.advance(10_000); // the relay is silent for the whole timeout
        });
      case "500":
        return Promise.resolve(new Response("busy", { status: 500 }));
      case "garbage":
        return Promise.resolve(new Response("<html>"));
      case "huge":
        return Promise.resolve(new Response(" ".repeat(1_000_000) + JSON.stringify(beacon)));
      case "tampered":
        return Promise.resolve(
          Response.json({ ...beacon!, signature: flipNibble(beacon!.signature, 40) }),
        );
      case "wrong_round":
        return Promise.resolve(Response.json(ROUND_1));
      case "good":
        return Promise.resolve(
          beacon ? Response.json(beacon) : new Response("not found", { status: 404 }),
        );
    }
  };
}

Deno.test("DrandClient.get() falls back to the next relay when the first is silent past the timeout", async () => {
  const clock = clockAtLatest();
  const seen: string[] = [];
  const client = new DrandClient({
    relays: ["https://a", "https://b"],
    clock,
    fetch: relayFetch({ "https://a": "hang", "https://b": "good" }, clock, seen),
  });
  assertEquals(await client.get(1000), BEACON_BY_ROUND.get(1000));
  assertEquals(seen, [
    `https://a/${QUICKNET.hash}/public/1000`,
    `https://b/${QUICKNET.hash}/public/1000`,
  ]);
  assertEquals(clock.pendingCount, 0);
});

Deno.test("DrandClient.get() skips a relay serving a tampered beacon", async () => {
  const clock = clockAtLatest();
  const client = new DrandClient({
    relays: ["https://a", "https://b"],
    clock,
    fetch: relayFetch({ "https://a": "tampered", "https://b": "good" }, clock, []),
  });
  assertEquals((await client.get(2)).randomness, ROUND_2.randomness);
});

Deno.test("DrandClient.get() fails closed when every relay fails, listing each reason", async () => {
  const clock = clockAtLatest();
  const relays = {
    "https://a": "hang",
    "https://b": "tampered",
    "https://c": "500",
    "https://d": "garbage",
  } as const;
  const client = new DrandClient({
    relays: Object.keys(relays),
    clock,
    fetch: relayFetch(relays, clock, []),
  });
  const error = await assertRejectsWithCode(() => client.get(3), DrandError, "all_relays_failed");
  for (
    const part of [
      "https://a: timeout",
      "https://b: bad_signature",
      "https://c: http",
      "https://d: malformed",
    ]
  ) {
    assert(error.message.includes(part), `missing "${part}" in ${error.message}`);
  }
});

Deno.test("DrandClient.get() refuses a relay answering with another round", async () => {
  const clock = clockAtLatest();
  const client = new DrandClient({
    relays: ["https://a"],
    clock,
    fetch: relayFetch({ "https://a": "wrong_round" }, clock, []),
  });
  const error = await assertRejectsWithCode(() => client.get(3), DrandError, "all_relays_failed");
  assert(error.message.includes("round_mismatch"));
});

Deno.test("DrandClient.latest() returns the newest verified beacon", async () => {
  const clock = clockAtLatest();
  const seen: string[] = [];
  const client = new DrandClient({
    relays: ["https://a"],
    clock,
    fetch: relayFetch({ "https://a": "good" }, clock, seen),
  });
  assertEquals(await client.latest(), LATEST);
  assertEquals(seen, [`https://a/${QUICKNET.hash}/public/latest`]);
});

Deno.test("DrandClient.latest() refuses a stale beacon replayed as latest", async () => {
  const clock = new ManualClock((roundTime(QUICKNET, LATEST.round) + 3600) * 1000);
  const client = new DrandClient({
    relays: ["https://a"],
    clock,
    fetch: relayFetch({ "https://a": "good" }, clock, []),
  });
  const error = await assertRejectsWithCode(() => client.latest(), DrandError, "all_relays_failed");
  assert(error.message.includes("stale"));
});

Deno.test("DrandClient defaults to the reference's relays in order", async () => {
  const clock = clockAtLatest();
  const seen: string[] = [];
  const behaviours = Object.fromEntries(REFERENCE_RELAYS.map((r) => [r, "500" as Behaviour]));
  const client = new DrandClient({ clock, fetch: relayFetch(behaviours, clock, seen) });
  await assertRejectsWithCode(() => client.get(1), DrandError, "all_relays_failed");
  assertEquals(seen.map((u) => new URL(u).origin), [...REFERENCE_RELAYS]);
});

Deno.test("DrandClient.get() refuses an oversized answer without reading it whole", async () => {
  const clock = clockAtLatest();
  const client = new DrandClient({
    relays: ["https://a", "https://b"],
    clock,
    fetch: relayFetch({ "https://a": "huge", "https://b": "good" }, clock, []),
  });
  assertEquals((await client.get(1)).round, 1);
  const lone = new DrandClient({
    relays: ["https://a"],
    clock,
    fetch: relayFetch({ "https://a": "huge" }, clock, []),
  });
  const error = await assertRejectsWithCode(() => lone.get(1), DrandError, "all_relays_failed");
  assert(error.message.includes("more than 65536 bytes"), error.message);
});
