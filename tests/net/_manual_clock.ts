/**
 * A clock for tests: time moves only when told. Sleeps shorter than `instantBelowMs` resolve at
 * once (backoff waits), longer ones (timeouts) wait for {@linkcode ManualClock.advance}.
 */

import type { Clock } from "../../src/net/retry.ts";

interface PendingSleep {
  dueMs: number;
  resolve: () => void;
}

export class ManualClock implements Clock {
  #nowMs: number;
  #pending = new Set<PendingSleep>();
  readonly instantBelowMs: number;
  /** Every requested sleep, in order, for assertions on backoff schedules. */
  readonly requested: number[] = [];

  constructor(startMs = 1_700_000_000_000, instantBelowMs = 0) {
    this.#nowMs = startMs;
    this.instantBelowMs = instantBelowMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.requested.push(ms);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (ms < this.instantBelowMs) {
      this.#nowMs += ms;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry: PendingSleep = {
        dueMs: this.#nowMs + ms,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#pending.delete(entry);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.add(entry);
    });
  }

  /** Moves time forward and resolves every sleep now due. */
  advance(ms: number): void {
    this.#nowMs += ms;
    for (const entry of [...this.#pending]) {
      if (entry.dueMs <= this.#nowMs) {
        this.#pending.delete(entry);
        entry.resolve();
      }
    }
  }

  /** Number of sleeps still waiting. */
  get pendingCount(): number {
    return this.#pending.size;
  }
}
