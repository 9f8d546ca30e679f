import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { assert, assertEquals, assertRejectsWithCode } from "./_assert.ts";
import { ManualClock } from "./_manual_clock.ts";
import type { Chain } from "../../src/net/chain.ts";
import { ChainError, type ChainErrorCode } from "../../src/net/chain_errors.ts";
import { LocalChain } from "../../src/net/local_chain.ts";
import {
  isTransientChainError,
  ResilientChain,
  type ResilientChainEvent,
} from "../../src/net/resilient_chain.ts";

await cryptoWaitReady();
const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
const alice = keyring.addFromUri("//Alice");

/** The local chain with failures injected into chosen methods, counted per method. */
class FaultyChain {
  readonly local: LocalChain;
  readonly failures = new Map<string, ChainErrorCode[]>();
  readonly calls = new Map<string, number>();
  readonly chain: Chain;

  constructor(local: LocalChain) {
    this.local = local;
    const { failures, calls } = this;
    this.chain = new Proxy(local, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const key = String(name);
          calls.set(key, (calls.get(key) ?? 0) + 1);
          const code = failures.get(key)?.shift();
          if (code !== undefined) return Promise.reject(new ChainError(code, `injected ${code}`));
          return value.apply(target, args);
        };
      },
    });
  }

  fail(method: string, ...codes: ChainErrorCode[]): void {
    this.failures.set(method, codes);
  }
}

function setup(options: { attempts?: number } = {}) {
  const clock = new ManualClock(0, Infinity); // every backoff sleep returns at once
  const local = new LocalChain({ blockTimeMs: 1000, clock, genesisMs: 0 });
  local.createSubnet(81);
  const faulty = new FaultyChain(local);
  const events: ResilientChainEvent[] = [];
  const chain = new ResilientChain(faulty.chain, {
    clock,
    random: () => 0.5, // no jitter: delays are exactly base·2^k
    attempts: options.attempts ?? 3,
    onEvent: (event) => events.push(event),
  });
  return { clock, local, faulty, events, chain };
}

Deno.test("isTransientChainError() accepts only endpoint failures", () => {
  for (const code of ["connect_failed", "connection_lost", "timeout", "rpc_failed"] as const) {
    assertEquals(isTransientChainError(new ChainError(code, "x")), true, code);
  }
  for (const code of ["block_not_found", "not_registered", "circuit_open"] as const) {
    assertEquals(isTransientChainError(new ChainError(code, "x")), false, code);
  }
  assertEquals(isTransientChainError(new Error("x")), false);
});

Deno.test("ResilientChain retries a transient read with doubling backoff", async () => {
  const { clock, faulty, events, chain } = setup();
  faulty.fail("blockHash", "timeout", "connection_lost");
  assertEquals(await chain.blockHash(0), await faulty.local.blockHash(0));
  assertEquals(faulty.calls.get("blockHash"), 3);
  assertEquals(clock.requested, [5000, 10_000]);
  assertEquals(events.map((e) => e.type), ["retry", "retry"]);
});

Deno.test("ResilientChain does not retry a request the chain refused", async () => {
  const { faulty, chain } = setup();
  await assertRejectsWithCode(() => chain.blockHash(5), ChainError, "block_not_found");
  assertEquals(faulty.calls.get("blockHash"), 1);
});

Deno.test("ResilientChain rethrows the last error once attempts are used up", async () => {
  const { faulty, chain } = setup();
  faulty.fail("currentBlock", "timeout", "timeout", "rpc_failed");
  const error = await assertRejectsWithCode(() => chain.currentBlock(), ChainError, "rpc_failed");
  assertEquals(error.message, "injected rpc_failed");
});

Deno.test("ResilientChain opens the circuit after two fully-failed calls and refuses reads", async () => {
  const { faulty, events, chain } = setup({ attempts: 1 });
  faulty.fail("currentBlock", "timeout", "timeout");
  await assertRejectsWithCode(() => chain.currentBlock(), ChainError, "timeout");
  assertEquals(chain.circuitOpen, false);
  await assertRejectsWithCode(() => chain.currentBlock(), ChainError, "timeout");
  assertEquals(chain.circuitOpen, true);
  assertEquals(events.at(-1)?.type, "circuit_open");
  await assertRejectsWithCode(() => chain.currentBlock(), ChainError, "circuit_open");
  assertEquals(faulty.calls.get("currentBlock"), 2);
});

Deno.test("ResilientChain closes the circuit after circuitOpenMs and the next success", async () => {
  const { clock, faulty, events, chain } = setup({ attempts: 1 });
  faulty.fail("currentBlock", "timeout", "timeout");
  for (let i = 0; i < 2; i++) {
    await assertRejectsWithCode(() => chain.currentBlock(), ChainError, "timeout");
  }
  clock.advance(30_000);
  assertEquals(chain.circuitOpen, false);
  assertEquals(await chain.currentBlock(), 30);
  assertEquals(events.at(-1), { type: "circuit_closed", call: "currentBlock" });
});

Deno.test("ResilientChain serves the last metagraph while the circuit is open", async () => {
  const { faulty, events, chain } = setup({ attempts: 1 });
  await faulty.local.register(81, alice, alice);
  const fresh = await chain.metagraph(81);
  faulty.fail("metagraph", "connection_lost", "connection_lost");
  await assertRejectsWithCode(() => chain.metagraph(81), ChainError, "connection_lost");
  const stale = await chain.metagraph(81); // this failure opens the circuit
  assertEquals(stale, fresh);
  assertEquals(await chain.metagraph(81), fresh); // refused by the open circuit, served from cache
  assertEquals(events.filter((e) => e.type === "stale_metagraph").length, 2);
});

Deno.test("ResilientChain without a cached metagraph fails while the circuit is open", async () => {
  const { faulty, chain } = setup({ attempts: 1 });
  faulty.fail("currentBlock", "timeout", "timeout");
  for (let i = 0; i < 2; i++) {
    await assertRejectsWithCode(() => chain.currentBlock(), ChainError, "timeout");
  }
  await assertRejectsWithCode(() => chain.metagraph(81), ChainError, "circuit_open");
});

Deno.test("ResilientChain sends a write once even when it fails transiently", async () => {
  const { faulty, chain } = setup();
  await faulty.local.register(81, alice, alice);
  faulty.fail("setWeights", "connection_lost");
  await assertRejectsWithCode(
    () => chain.setWeights(81, alice, [0], [1]),
    ChainError,
    "connection_lost",
  );
  assertEquals(faulty.calls.get("setWeights"), 1);
  const receipt = await chain.setWeights(81, alice, [0], [1]);
  assertEquals(receipt.weights, [65535]);
});

Deno.test("ResilientChain refuses a write while the circuit is open", async () => {
  const { faulty, chain } = setup({ attempts: 1 });
  await faulty.local.register(81, alice, alice);
  faulty.fail("currentBlock", "timeout", "timeout");
  for (let i = 0; i < 2; i++) {
    await assertRejectsWithCode(() => chain.currentBlock(), ChainError, "timeout");
  }
  const error = await assertRejectsWithCode(
    () => chain.setCommitment(81, alice, "x"),
    ChainError,
    "circuit_open",
  );
  assert(error.message.includes("setCommitment(81)"), error.message);
  assertEquals(faulty.calls.get("setCommitment"), undefined);
});

Deno.test("ResilientChain constructor rejects zero attempts", () => {
  const local = new LocalChain({ blockTimeMs: 1000 });
  let caught: unknown;
  try {
    new ResilientChain(local, { attempts: 0 });
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof RangeError && caught.message.includes("attempts"), String(caught));
});
