/**
 * Bounded retries with exponential backoff and jitter, and per-call timeouts, all driven by an
 * injected {@linkcode Clock} and random source so tests never sleep.
 *
 * @module
 */

/** Time source and timer. Roles pass {@linkcode SYSTEM_CLOCK}; tests pass a manual clock. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  /**
   * Resolves after `ms` milliseconds; rejects with `signal.reason` when `signal` aborts first.
   * An aborted sleep must release its timer.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The wall clock and `setTimeout`.
 *
 * @example
 * ```ts
 * import { SYSTEM_CLOCK } from "./retry.ts";
 * if (!(SYSTEM_CLOCK.nowMs() > 1.6e12)) throw new Error("clock before 2020");
 * await SYSTEM_CLOCK.sleep(0);
 * ```
 */
export const SYSTEM_CLOCK: Clock = {
  nowMs: () => Date.now(),
  sleep: (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/**
 * Default jitter source: a uniform draw in [0, 1) from the platform CSPRNG (jitter only spreads
 * retries; nothing reproducible depends on it).
 *
 * @returns A number in [0, 1).
 *
 * @example
 * ```ts
 * import { jitterRandom } from "./retry.ts";
 * const r = jitterRandom();
 * if (!(r >= 0 && r < 1)) throw new Error("out of range");
 * ```
 */
export function jitterRandom(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32;
}

/** Backoff shape: delay `min(baseDelayMs·2^k, maxDelayMs)` scaled by `1 ± jitter`. */
export interface BackoffOptions {
  /** Delay before the first retry, before jitter. */
  baseDelayMs: number;
  /** Upper bound of the un-jittered delay. */
  maxDelayMs: number;
  /** Relative jitter in [0, 1): 0.25 spreads each delay over ±25 %. */
  jitter: number;
}

/**
 * Delay before retry number `retryIndex` (0 for the first retry): `min(base·2^k, max)·(1 + j·(2r−1))`.
 *
 * @param retryIndex 0-based retry number.
 * @param options Backoff shape.
 * @param random A draw in [0, 1).
 * @returns Delay in milliseconds, never negative.
 * @throws {RangeError} On a negative index or a jitter outside [0, 1).
 *
 * @example Reference upload schedule (infra spec §4.1): 1 s, 2 s, 4 s … capped at 32 s, ±25 %
 * ```ts
 * import { backoffDelayMs } from "./retry.ts";
 * const shape = { baseDelayMs: 1000, maxDelayMs: 32_000, jitter: 0.25 };
 * if (backoffDelayMs(0, shape, 0.5) !== 1000) throw new Error("first retry");
 * if (backoffDelayMs(10, shape, 0.5) !== 32_000) throw new Error("cap");
 * if (backoffDelayMs(0, shape, 0) !== 750) throw new Error("low jitter");
 * ```
 */
export function backoffDelayMs(
  retryIndex: number,
  options: BackoffOptions,
  random: number,
): number {
  if (!Number.isInteger(retryIndex) || retryIndex < 0) {
    throw new RangeError(`Retry index must be a non-negative integer, got ${retryIndex}`);
  }
  if (!(options.jitter >= 0 && options.jitter < 1)) {
    throw new RangeError(`Jitter must be in [0, 1), got ${options.jitter}`);
  }
  const raw = Math.min(options.baseDelayMs * 2 ** retryIndex, options.maxDelayMs);
  return Math.max(0, raw * (1 + options.jitter * (2 * random - 1)));
}

/** What {@linkcode retry} tells its observer before each wait. */
export interface RetryEvent {
  /** 1-based number of the attempt that failed. */
  attempt: number;
  /** Its error. */
  error: unknown;
  /** How long it will wait before the next attempt. */
  delayMs: number;
}

/** Options of {@linkcode retry}. */
export interface RetryOptions extends BackoffOptions {
  /** Total attempts including the first, at least 1. */
  attempts: number;
  /** Whether an error is worth another attempt; defaults to always. */
  shouldRetry?: (error: unknown) => boolean;
  /** Backoff for a specific error (e.g. a throttle); defaults to the main shape. */
  backoffFor?: (error: unknown) => BackoffOptions;
  /** Called before each wait (roles log retries through it). */
  onRetry?: (event: RetryEvent) => void;
  /** Timer; defaults to {@linkcode SYSTEM_CLOCK}. */
  clock?: Clock;
  /** Draws in [0, 1) for jitter; defaults to {@linkcode jitterRandom}. */
  random?: () => number;
}

/**
 * Runs `operation` until it succeeds, an error is not retryable, or `attempts` are used up; the
 * last error is rethrown unchanged.
 *
 * @param operation Receives the 1-based attempt number.
 * @param options Attempts, backoff, clock and random source.
 * @returns The first successful result.
 * @throws Whatever the last attempt threw; {@linkcode RangeError} when `attempts < 1`.
 *
 * @example Succeeds on the third attempt without real waiting
 * ```ts
 * import { retry } from "./retry.ts";
 * const waits: number[] = [];
 * const clock = { nowMs: () => 0, sleep: (ms: number) => { waits.push(ms); return Promise.resolve(); } };
 * let calls = 0;
 * const value = await retry(() => ++calls < 3 ? Promise.reject(new Error("flaky")) : Promise.resolve(calls), {
 *   attempts: 3, baseDelayMs: 100, maxDelayMs: 1000, jitter: 0, clock,
 * });
 * if (value !== 3 || waits.join() !== "100,200") throw new Error("unexpected");
 * ```
 */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  if (!Number.isInteger(options.attempts) || options.attempts < 1) {
    throw new RangeError(`Retry attempts must be an integer >= 1, got ${options.attempts}`);
  }
  const clock = options.clock ?? SYSTEM_CLOCK;
  const random = options.random ?? jitterRandom;
  for (let attempt = 1;; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const retryable = options.shouldRetry?.(error) ?? true;
      if (!retryable || attempt >= options.attempts) throw error;
      const shape = options.backoffFor?.(error) ?? options;
      const delayMs = backoffDelayMs(attempt - 1, shape, random());
      options.onRetry?.({ attempt, error, delayMs });
      await clock.sleep(delayMs);
    }
  }
}

/**
 * Runs `operation` with an abort signal that fires after `timeoutMs` on `clock`; the timer is
 * always released. On timeout the promise rejects with `onTimeout()` even if the operation
 * ignores its signal.
 *
 * @param operation Receives the signal to pass to fetch/SDK calls.
 * @param timeoutMs Limit in milliseconds.
 * @param onTimeout Builds the error to reject with.
 * @param clock Timer; defaults to {@linkcode SYSTEM_CLOCK}.
 * @returns The operation's result.
 * @throws The operation's error, or `onTimeout()`.
 *
 * @example
 * ```ts
 * import { withTimeout } from "./retry.ts";
 * const value = await withTimeout(() => Promise.resolve(7), 1000, () => new Error("slow"));
 * if (value !== 7) throw new Error("unexpected");
 * ```
 */
export async function withTimeout<T>(
  operation: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  onTimeout: () => Error,
  clock: Clock = SYSTEM_CLOCK,
): Promise<T> {
  const operationControl = new AbortController();
  const timerControl = new AbortController();
  const timeout = new Promise<never>((_, reject) => {
    clock.sleep(timeoutMs, timerControl.signal).then(() => {
      const error = onTimeout();
      operationControl.abort(error);
      reject(error);
    }, () => {
      // The timer was cancelled because the operation settled first; nothing to report.
    });
  });
  try {
    return await Promise.race([operation(operationControl.signal), timeout]);
  } finally {
    timerControl.abort();
  }
}
