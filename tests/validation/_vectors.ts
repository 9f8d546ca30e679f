/**
 * Test helper: the shared golden vectors (`../shared/fixtures/grail-vectors.json`, produced
 * independently of this project — see its `_note`), parsed without losing digits of integers
 * beyond 2^53 (they become bigints).
 */

/** Parses JSON, turning integer literals beyond 2^53 into bigints (reviver source access). */
export function parseJsonLossless(text: string): unknown {
  return JSON.parse(
    text,
    function (this: unknown, _key: string, value: unknown, context?: { source?: string }) {
      if (
        typeof value === "number" && context?.source !== undefined &&
        /^-?\d+$/.test(context.source) && !Number.isSafeInteger(value)
      ) {
        return BigInt(context.source);
      }
      return value;
    } as (this: unknown, key: string, value: unknown) => unknown,
  );
}

// deno-lint-ignore no-explicit-any
export const VECTORS: any = parseJsonLossless(
  Deno.readTextFileSync(new URL("../../../shared/fixtures/grail-vectors.json", import.meta.url)),
);

/** Reads a JSON fixture from tests/fixtures/validation/. */
// deno-lint-ignore no-explicit-any
export function readValidationFixture(name: string): any {
  return parseJsonLossless(
    Deno.readTextFileSync(new URL(`../fixtures/validation/${name}`, import.meta.url)),
  );
}
