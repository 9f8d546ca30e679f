/**
 * Test helpers: read the golden fixtures in `../shared/fixtures/` (independent references, see
 * their README) without losing digits of integers beyond 2^53.
 */

/** The shared fixtures folder, resolved from the repository root. */
export const FIXTURES_DIR: URL = new URL("../../../shared/fixtures/", import.meta.url);

/**
 * JSON.parse that keeps integers beyond 2^53 exact as bigint, using the reviver's source text
 * (V8 JSON.parse source text access).
 */
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

/** Reads and parses one fixture file, relative to the fixtures folder. */
export async function readFixtureJson<T>(path: string): Promise<T> {
  return parseJsonLossless(await Deno.readTextFile(new URL(path, FIXTURES_DIR))) as T;
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of a hex string (even length, no prefix). */
export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The long token list of grail-vectors.json: `[151644, 8948, 198] + [i*7919 % 151000 for i in 1..1199]`. */
export function longTokens(): number[] {
  const out = [151644, 8948, 198];
  for (let i = 1; i < 1200; i++) out.push((i * 7919) % 151000);
  return out;
}
