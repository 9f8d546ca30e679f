import { deepStrictEqual, rejects } from "node:assert/strict";
import { FastForwardClock } from "../../src/devnet/fast_clock.ts";

Deno.test("FastForwardClock jumps to the earliest wake-up when every actor sleeps", async () => {
  const clock = new FastForwardClock(() => 1000);
  const leaveA = clock.enter();
  const leaveB = clock.enter();
  const order: string[] = [];
  const a = clock.sleep(5000).then(() => order.push(`a@${clock.nowMs()}`));
  const b = clock.sleep(2000).then(() => order.push(`b@${clock.nowMs()}`));
  await b;
  // B woke first at 3000; A is alone asleep but B is awake (computing), so no jump yet.
  deepStrictEqual(order, ["b@3000"]);
  leaveB();
  await a;
  leaveA();
  deepStrictEqual(order, ["b@3000", "a@6000"]);
  deepStrictEqual(clock.skippedMs, 5000);
});

Deno.test("FastForwardClock does not jump while an actor is awake", async () => {
  let real = 0;
  const clock = new FastForwardClock(() => real);
  const leaveA = clock.enter();
  clock.enter(); // B never sleeps
  let woke = false;
  const a = clock.sleep(1000).then(() => (woke = true));
  await new Promise((r) => setTimeout(r, 0));
  deepStrictEqual([woke, clock.nowMs()], [false, 0]);
  real = 1500; // the wall clock passes the wake-up; the next settle wakes A
  const b = clock.sleep(10);
  await a;
  deepStrictEqual(woke, true);
  leaveA();
  await b;
});

Deno.test("FastForwardClock.sleep() rejects with the abort reason and forgets the sleeper", async () => {
  const clock = new FastForwardClock(() => 0);
  clock.enter();
  clock.enter();
  const stop = new AbortController();
  const p = clock.sleep(1000, stop.signal);
  stop.abort(new Error("stop"));
  await rejects(p, /stop/);
  await rejects(clock.sleep(1, stop.signal), /stop/);
  deepStrictEqual(clock.nowMs(), 0);
});
