/** Minimal assertions for the net tests (only npm: and node: imports are reachable here). */

import { deepStrictEqual } from "node:assert";

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

export function assert(condition: unknown, message = "Assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Awaits `fn()`, requires it to reject, and returns the rejection. */
export async function assertRejects(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("Expected the promise to reject, but it resolved");
}

/** Like {@linkcode assertRejects}, also checking the error's class and `code`. */
export async function assertRejectsWithCode(
  fn: () => Promise<unknown>,
  errorClass: new (...args: never[]) => Error,
  code: string,
): Promise<Error & { code: string }> {
  const error = await assertRejects(fn);
  if (!(error instanceof errorClass)) {
    throw new Error(`Expected ${errorClass.name}, got ${String(error)}`, { cause: error });
  }
  const withCode = error as Error & { code: string };
  if (withCode.code !== code) {
    throw new Error(`Expected code ${code}, got ${withCode.code}: ${withCode.message}`, {
      cause: error,
    });
  }
  return withCode;
}

/** Requires `fn()` to throw a RangeError and returns its message. */
export function throwsRangeError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof RangeError) return error.message;
    throw error;
  }
  throw new Error("expected a RangeError");
}
