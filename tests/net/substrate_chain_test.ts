/**
 * SubstrateChain against endpoints the test controls: a closed port, and a loopback JSON-RPC
 * node (_fake_substrate_node.ts) that drops its clients or goes silent. Every failure must be a
 * ChainError with a stable code, promptly, and close() must leave no socket or timer behind
 * (sanitizers on). The real subtensor runtime is exercised by substrate_chain_subtensor_test.ts.
 */

import { assert, assertEquals, assertRejectsWithCode } from "./_assert.ts";
import { ManualClock } from "./_manual_clock.ts";
import { fakeBlockHash, FakeSubstrateNode, fakeTimestampMs } from "./_fake_substrate_node.ts";
import { SubstrateChain } from "../../src/net/substrate_chain.ts";
import { ChainError } from "../../src/net/chain_errors.ts";

async function closedPortUrl(): Promise<string> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await Promise.resolve();
  return `ws://127.0.0.1:${port}`;
}

Deno.test("SubstrateChain.connect() fails with connect_failed when nothing listens", async () => {
  const url = await closedPortUrl();
  const error = await assertRejectsWithCode(
    () => SubstrateChain.connect(url, { connectTimeoutMs: 5000 }),
    ChainError,
    "connect_failed",
  );
  assert(error.message.includes(url), error.message);
});

Deno.test("SubstrateChain.connect() fails with connect_failed when the node drops every connection", async () => {
  const node = new FakeSubstrateNode("close_on_open");
  try {
    const error = await assertRejectsWithCode(
      () => SubstrateChain.connect(node.url, { connectTimeoutMs: 10_000, reconnectDelayMs: 0 }),
      ChainError,
      "connect_failed",
    );
    assertEquals((error as ChainError).endpoint, node.url);
  } finally {
    await node.close();
  }
});

Deno.test("SubstrateChain.connect() fails with connect_failed after connectTimeoutMs on a mute node", async () => {
  const node = new FakeSubstrateNode("silent");
  const clock = new ManualClock();
  try {
    const connecting = assertRejectsWithCode(
      () =>
        SubstrateChain.connect(node.url, { connectTimeoutMs: 10_000, reconnectDelayMs: 0, clock }),
      ChainError,
      "connect_failed",
    );
    await node.nextConnection();
    while (clock.pendingCount === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    clock.advance(10_000);
    const error = await connecting;
    assert(error.message.includes("10000 ms"), error.message);
  } finally {
    await node.close();
  }
});

Deno.test("SubstrateChain.currentBlock() reads the best head from chain_getHeader", async () => {
  const node = new FakeSubstrateNode("normal");
  const chain = await SubstrateChain.connect(node.url, { reconnectDelayMs: 0 });
  try {
    assertEquals(await chain.currentBlock(), 40);
  } finally {
    await chain.close();
    await node.close();
  }
});

Deno.test("SubstrateChain.blockHash() returns the node's hash string unchanged", async () => {
  const node = new FakeSubstrateNode("normal");
  const chain = await SubstrateChain.connect(node.url, { reconnectDelayMs: 0 });
  try {
    assertEquals(await chain.blockHash(7), fakeBlockHash(7));
    assertEquals(await chain.blockHash(0), fakeBlockHash(0));
  } finally {
    await chain.close();
    await node.close();
  }
});

Deno.test("SubstrateChain.blockHash() fails with block_not_found when the node answers null", async () => {
  const node = new FakeSubstrateNode("normal");
  const chain = await SubstrateChain.connect(node.url, { reconnectDelayMs: 0 });
  try {
    await assertRejectsWithCode(() => chain.blockHash(41), ChainError, "block_not_found");
  } finally {
    await chain.close();
    await node.close();
  }
});

Deno.test("SubstrateChain.blockTimestampMs() reads Timestamp.Now at the block's hash", async () => {
  const node = new FakeSubstrateNode("normal");
  const chain = await SubstrateChain.connect(node.url, { reconnectDelayMs: 0 });
  try {
    assertEquals(await chain.blockTimestampMs(30), fakeTimestampMs(30));
  } finally {
    await chain.close();
    await node.close();
  }
});

Deno.test("SubstrateChain.blockTimestampMs() falls back to the Timestamp.set inherent on pruned state", async () => {
  const node = new FakeSubstrateNode("normal");
  node.prunedState = true;
  const chain = await SubstrateChain.connect(node.url, { reconnectDelayMs: 0 });
  try {
    assertEquals(await chain.blockTimestampMs(12), fakeTimestampMs(12));
  } finally {
    await chain.close();
    await node.close();
  }
});

Deno.test("SubstrateChain fails with unsupported_runtime on a chain without subtensor", async () => {
  // The fake node serves the generic Substrate node's metadata: no SubtensorModule, no
  // Commitments pallet, no subnet runtime APIs.
  const node = new FakeSubstrateNode("normal");
  const chain = await SubstrateChain.connect(node.url, { reconnectDelayMs: 0 });
  try {
    const address = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    await assertRejectsWithCode(() => chain.uidOf(1, address), ChainError, "unsupported_runtime");
    await assertRejectsWithCode(() => chain.metagraph(1), ChainError, "unsupported_runtime");
    await assertRejectsWithCode(() => chain.commitments(1), ChainError, "unsupported_runtime");
  } finally {
    await chain.close();
    await node.close();
  }
});

Deno.test("SubstrateChain call fails with connection_lost at once when the node drops the connection", async () => {
  const node = new FakeSubstrateNode("drop_on_header");
  // A manual clock never fires the call timeout: the rejection can only come from the drop.
  const clock = new ManualClock();
  const chain = await SubstrateChain.connect(node.url, { reconnectDelayMs: 0, clock });
  try {
    const error = await assertRejectsWithCode(
      () => chain.currentBlock(),
      ChainError,
      "connection_lost",
    );
    assert(error.message.includes("chain_getHeader"), error.message);
    assertEquals(chain.isConnected, false);
  } finally {
    await chain.close();
    await node.close();
  }
});

Deno.test("SubstrateChain calls fail fast with connection_lost while the connection is down", async () => {
  const node = new FakeSubstrateNode("drop_on_header");
  const clock = new ManualClock();
  const chain = await SubstrateChain.connect(node.url, { reconnectDelayMs: 0, clock });
  try {
    await assertRejectsWithCode(() => chain.currentBlock(), ChainError, "connection_lost");
    // No reconnect (delay 0) and a clock that never fires: only a fast failure can settle this.
    const error = await assertRejectsWithCode(
      () => chain.blockHash(3),
      ChainError,
      "connection_lost",
    );
    assert(error.message.includes("chain_getBlockHash(3)"), error.message);
  } finally {
    await chain.close();
    await node.close();
  }
});

Deno.test("SubstrateChain reconnects after reconnectDelayMs and serves calls again", async () => {
  const node = new FakeSubstrateNode("normal");
  const clock = new ManualClock();
  const chain = await SubstrateChain.connect(node.url, { reconnectDelayMs: 2500, clock });
  try {
    const reconnected = node.nextConnection();
    node.dropAll();
    while (clock.pendingCount === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    assertEquals(node.connections, 1);
    clock.advance(2500);
    await reconnected;
    await chain.whenConnected();
    assertEquals(node.connections, 2);
    assertEquals(await chain.currentBlock(), 40);
  } finally {
    await chain.close();
    await node.close();
  }
});

Deno.test("SubstrateChain call fails with timeout when the node stops answering", async () => {
  const node = new FakeSubstrateNode("silent_on_header");
  const clock = new ManualClock();
  const chain = await SubstrateChain.connect(node.url, {
    reconnectDelayMs: 0,
    callTimeoutMs: 15_000,
    clock,
  });
  try {
    const pending = assertRejectsWithCode(() => chain.currentBlock(), ChainError, "timeout");
    while (clock.pendingCount === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    clock.advance(15_000);
    const error = await pending;
    assert(error.message.includes("15000 ms"), error.message);
  } finally {
    await chain.close();
    await node.close();
  }
});

Deno.test("SubstrateChain calls after close() fail with connection_lost", async () => {
  const node = new FakeSubstrateNode("normal");
  const chain = await SubstrateChain.connect(node.url, { reconnectDelayMs: 0 });
  await chain.close();
  await chain.close(); // idempotent
  try {
    await assertRejectsWithCode(() => chain.currentBlock(), ChainError, "connection_lost");
  } finally {
    await node.close();
  }
});
