import { assertEquals, assertRejects } from "./_assert.ts";
import { backoffDelayMs, retry, SYSTEM_CLOCK, withTimeout } from "../../src/net/retry.ts";
import { ManualClock } from "./_manual_clock.ts";

const SHAPE = { baseDelayMs: 1000, maxDelayMs: 32_000, jitter: 0.25 };

Deno.test("backoffDelayMs() doubles from the base and stops at the cap", () => {
  // Exact: jitter draw 0.5 means a factor of exactly 1.
  const delays = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => backoffDelayMs(k, SHAPE, 0.5));
  assertEquals(delays, [1000, 2000, 4000, 8000, 16_000, 32_000, 32_000, 32_000]);
});

Deno.test("backoffDelayMs() spreads delays over plus or minus the jitter", () => {
  assertEquals(backoffDelayMs(2, SHAPE, 0), 3000);
  assertEquals(backoffDelayMs(2, SHAPE, 1), 5000);
});

Deno.test("backoffDelayMs() rejects a negative retry index", () => {
  let caught: unknown;
  try {
    backoffDelayMs(-1, SHAPE, 0.5);
  } catch (error) {
    caught = error;
  }
  assertEquals(caught instanceof RangeError, true);
});

Deno.test("retry() stops at the attempt limit and rethrows the last error", async () => {
  const clock = new ManualClock(0, Infinity);
  let calls = 0;
  const error = await assertRejects(
    () =>
      retry(() => Promise.reject(new Error(`fail ${++calls}`)), { ...SHAPE, attempts: 3, clock }),
  );
  assertEquals((error as Error).message, "fail 3");
  assertEquals(calls, 3);
  assertEquals(clock.requested.length, 2);
});

Deno.test("retry() does not retry an error the predicate refuses", async () => {
  let calls = 0;
  await assertRejects(() =>
    retry(() => {
      calls++;
      return Promise.reject(new TypeError("permanent"));
    }, { ...SHAPE, attempts: 5, shouldRetry: (e) => !(e instanceof TypeError) })
  );
  assertEquals(calls, 1);
});

Deno.test("retry() waits with the jittered schedule it reports", async () => {
  const clock = new ManualClock(0, Infinity);
  const draws = [0, 1];
  const reported: number[] = [];
  let calls = 0;
  const value = await retry(
    () => (++calls < 3 ? Promise.reject(new Error("x")) : Promise.resolve("ok")),
    {
      ...SHAPE,
      attempts: 3,
      clock,
      random: () => draws.shift()!,
      onRetry: (e) => reported.push(e.delayMs),
    },
  );
  assertEquals(value, "ok");
  assertEquals(reported, [750, 2500]);
  assertEquals(clock.requested, [750, 2500]);
});

Deno.test("withTimeout() rejects with the timeout error and aborts the operation", async () => {
  const clock = new ManualClock();
  let abortedWith: unknown;
  const pending = withTimeout(
    (signal) =>
      new Promise<never>((_, reject) => {
        signal.addEventListener("abort", () => {
          abortedWith = signal.reason;
          reject(signal.reason);
        });
      }),
    5000,
    () => new Error("took too long"),
    clock,
  );
  clock.advance(4999);
  clock.advance(1);
  const error = await assertRejects(() => pending);
  assertEquals((error as Error).message, "took too long");
  assertEquals(abortedWith, error);
});

Deno.test("withTimeout() releases its timer when the operation finishes first", async () => {
  const clock = new ManualClock();
  assertEquals(await withTimeout(() => Promise.resolve(1), 5000, () => new Error("x"), clock), 1);
  assertEquals(clock.pendingCount, 0);
});

Deno.test("SYSTEM_CLOCK.sleep() rejects with the abort reason and clears its timer", async () => {
  const control = new AbortController();
  const sleeping = SYSTEM_CLOCK.sleep(60_000, control.signal);
  control.abort(new Error("stop"));
  const error = await assertRejects(() => sleeping);
  assertEquals((error as Error).message, "stop");
});
