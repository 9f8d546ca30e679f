/**
 * The local network's clock: real time that skips idle stretches. Time flows as the wall clock
 * while any role works (so the miners' time budget measures real generation time), and when
 * every registered role is asleep the clock jumps to the earliest wake-up. A window of 30
 * twelve-second blocks then costs only the compute done in it, whatever the machine's speed.
 *
 * Sleepers are woken only by the clock itself (no timers), so nothing is left pending when the
 * roles stop: a sleeper that is due while another role still computes wakes when that role
 * next sleeps, like a process that the scheduler runs late.
 *
 * @module
 */

import type { Clock } from "../net/chain.ts";

interface Sleeper {
  wakeMs: number;
  resolve: () => void;
}

/** A clock that fast-forwards when all actors sleep. */
export class FastForwardClock implements Clock {
  #offsetMs = 0;
  #actors = 0;
  #sleepers = new Set<Sleeper>();
  readonly #realNow: () => number;

  /**
   * Creates a clock at the wall-clock time with no actors.
   *
   * @param realNow Wall clock in ms (default `Date.now`).
   */
  constructor(realNow: () => number = Date.now) {
    this.#realNow = realNow;
  }

  /** Milliseconds since the epoch, never behind the wall clock. @returns Now. */
  nowMs(): number {
    return this.#realNow() + this.#offsetMs;
  }

  /** Milliseconds skipped so far. @returns The offset. */
  get skippedMs(): number {
    return this.#offsetMs;
  }

  /**
   * Registers an actor (a role loop). The clock only jumps while all actors sleep.
   *
   * @returns A function that unregisters it (call when the loop ends).
   *
   * @example
   * ```ts
   * import { FastForwardClock } from "./fast_clock.ts";
   * const clock = new FastForwardClock(() => 0);
   * const leave = clock.enter();
   * await clock.sleep(60_000); // the only actor sleeps: the clock jumps at once
   * leave();
   * if (clock.nowMs() !== 60_000) throw new Error(String(clock.nowMs()));
   * ```
   */
  enter(): () => void {
    this.#actors++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#actors--;
      this.#settle();
    };
  }

  /**
   * Sleeps `ms` of clock time.
   *
   * @param ms Duration.
   * @param signal Aborts the sleep (rejects with the signal's reason).
   * @returns Resolves when the clock reaches the wake-up time.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = {
        wakeMs: this.nowMs() + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers.delete(sleeper);
        reject(signal?.reason);
        this.#settle();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.add(sleeper);
      // Settle after the caller's synchronous code, so a batch of sleeps counts together.
      queueMicrotask(() => this.#settle());
    });
  }

  #settle(): void {
    if (this.#sleepers.size === 0) return;
    const now = this.nowMs();
    const due = [...this.#sleepers].filter((s) => s.wakeMs <= now);
    if (due.length === 0 && this.#sleepers.size >= this.#actors) {
      const next = Math.min(...[...this.#sleepers].map((s) => s.wakeMs));
      this.#offsetMs += next - now;
      due.push(...[...this.#sleepers].filter((s) => s.wakeMs <= next));
    }
    for (const s of due) {
      this.#sleepers.delete(s);
      s.resolve();
    }
  }
}
