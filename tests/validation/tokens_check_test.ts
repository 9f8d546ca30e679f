import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { checkTokens } from "../../src/validation/tokens_check.ts";

Deno.test("checkTokens() fails an empty sequence", () => {
  strictEqual(checkTokens([], { vocabSize: 10 }).reason, "empty");
});

Deno.test("checkTokens() fails a negative id and names its index", () => {
  deepStrictEqual(checkTokens([1, -1], { vocabSize: 10 }), {
    ok: false,
    reason: "invalid_id",
    index: 1,
  });
});

Deno.test("checkTokens() fails a non-integer id", () => {
  strictEqual(checkTokens([1.5], { vocabSize: 10 }).ok, false);
});

Deno.test("checkTokens() skips the id bound without a vocab size", () => {
  strictEqual(checkTokens([999999], { vocabSize: null }).ok, true);
});

Deno.test("checkTokens() fails a sequence longer than the context (default 16384)", () => {
  strictEqual(checkTokens(new Array(16385).fill(0), { vocabSize: 10 }).reason, "too_long");
  strictEqual(checkTokens(new Array(16384).fill(0), { vocabSize: 10 }).ok, true);
});
