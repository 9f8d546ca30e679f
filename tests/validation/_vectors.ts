/**
 * Test helper: the shared golden vectors (`../shared/fixtures/grail-vectors.json`, produced
 * independently of this project — see its `_note`), parsed without losing digits of integers
 * beyond 2^53 (they become bigints).
 */

import { parseJsonLossless } from "../protocol/_fixtures.ts";

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
