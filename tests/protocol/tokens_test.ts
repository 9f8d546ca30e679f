// Golden values: grail-vectors.json tokens_hash (reference int_to_bytes and sha256). Exact.
import { strictEqual, throws } from "node:assert/strict";
import { hashTokens, tokensBytes } from "../../src/protocol/tokens.ts";
import { readFixtureJson, toHex } from "./_fixtures.ts";

const vectors = await readFixtureJson<{
  tokens_hash: { tokens: number[]; bytes_hex: string; sha256_hex: string }[];
}>("grail-vectors.json");

Deno.test("tokensBytes() matches all 3 grail-vectors serialisations (negative and ≥ 2^32 ids)", () => {
  let matched = 0;
  for (const v of vectors.tokens_hash) {
    strictEqual(toHex(tokensBytes(v.tokens)), v.bytes_hex);
    matched++;
  }
  strictEqual(matched, 3);
});

Deno.test("hashTokens() matches all 3 grail-vectors tokens hashes", () => {
  let matched = 0;
  for (const v of vectors.tokens_hash) {
    strictEqual(toHex(hashTokens(v.tokens)), v.sha256_hex);
    matched++;
  }
  strictEqual(matched, 3);
});

Deno.test("hashTokens() of no tokens is sha256 of empty input", () => {
  strictEqual(
    toHex(hashTokens([])),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("tokensBytes() rejects a non-integer id", () => {
  throws(() => tokensBytes([1, 2.5]), RangeError);
});
