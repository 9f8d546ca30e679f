import { assert, assertEquals, assertRejectsWithCode, throwsRangeError } from "./_assert.ts";
import { ManualClock } from "./_manual_clock.ts";
import {
  NETWORK_ENDPOINTS,
  resolveNetwork,
  waitForBlock,
  watchBlocks,
} from "../../src/net/chain.ts";
import { ChainError } from "../../src/net/chain_errors.ts";
import { LocalChain } from "../../src/net/local_chain.ts";

/** A clock whose sleeps jump time forward at once: drives polling loops without waiting. */
class JumpClock extends ManualClock {
  constructor() {
    super(0, Infinity);
  }
}

Deno.test("resolveNetwork() maps the SDK's network names to its endpoints", () => {
  assertEquals(resolveNetwork("finney"), "wss://entrypoint-finney.opentensor.ai:443");
  assertEquals(resolveNetwork("test"), "wss://test.finney.opentensor.ai:443");
  assertEquals(resolveNetwork("local"), "ws://127.0.0.1:9944");
  assertEquals(Object.keys(NETWORK_ENDPOINTS).length, 5);
});

Deno.test("resolveNetwork() passes ws and wss URLs through", () => {
  assertEquals(resolveNetwork("ws://127.0.0.1:9957"), "ws://127.0.0.1:9957");
  assertEquals(resolveNetwork("wss://example.org:443/path"), "wss://example.org:443/path");
});

Deno.test("resolveNetwork() rejects other strings naming the accepted ones", () => {
  const message = throwsRangeError(() => resolveNetwork("http://127.0.0.1:9944"));
  assert(message.includes("http://127.0.0.1:9944") && message.includes("finney"), message);
});

Deno.test("resolveNetwork() rejects an Object.prototype name", () => {
  const message = throwsRangeError(() => resolveNetwork("constructor"));
  assert(message.includes('"constructor"'), message);
});

Deno.test("waitForBlock() returns the head once it reaches the target", async () => {
  const clock = new JumpClock();
  const chain = new LocalChain({ blockTimeMs: 1000, clock, genesisMs: 0 });
  assertEquals(await waitForBlock(chain, 4, { clock, pollMs: 1500 }), 4);
  assertEquals(clock.requested, [1500, 1500, 1500]);
});

Deno.test("waitForBlock() returns at once when the head is already past the target", async () => {
  const clock = new JumpClock();
  clock.advance(10_000);
  const chain = new LocalChain({ blockTimeMs: 1000, clock, genesisMs: 0 });
  assertEquals(await waitForBlock(chain, 3, { clock }), 10);
  assertEquals(clock.requested, []);
});

Deno.test("waitForBlock() fails with timeout when the chain stalls", async () => {
  const clock = new JumpClock();
  const chain = new LocalChain({ blockTimeMs: 1_000_000, clock, genesisMs: 0 });
  const error = await assertRejectsWithCode(
    () => waitForBlock(chain, 1, { clock, pollMs: 1000, timeoutMs: 5000 }),
    ChainError,
    "timeout",
  );
  assert(error.message.includes("Block 1") && error.message.includes("5000"), error.message);
});

Deno.test("waitForBlock() stops when its signal aborts", async () => {
  const clock = new ManualClock(0);
  const chain = new LocalChain({ blockTimeMs: 1000, clock, genesisMs: 0 });
  const control = new AbortController();
  const waiting = waitForBlock(chain, 100, { clock, signal: control.signal });
  control.abort(new Error("stop"));
  let caught: unknown;
  try {
    await waiting;
  } catch (error) {
    caught = error;
  }
  assertEquals((caught as Error).message, "stop");
});

Deno.test("watchBlocks() yields every block once even when several pass between polls", async () => {
  const clock = new JumpClock();
  const chain = new LocalChain({ blockTimeMs: 400, clock, genesisMs: 0 });
  const seen: number[] = [];
  for await (const block of watchBlocks(chain, { clock, pollMs: 1000 })) {
    seen.push(block);
    if (seen.length === 6) break;
  }
  assertEquals(seen, [1, 2, 3, 4, 5, 6]);
});

Deno.test("ChainError carries code, endpoint and cause", () => {
  const cause = new Error("socket");
  const error = new ChainError("connection_lost", "dropped", { endpoint: "ws://x", cause });
  assertEquals([error.code, error.endpoint, error.cause, error.name], [
    "connection_lost",
    "ws://x",
    cause,
    "ChainError",
  ]);
});
