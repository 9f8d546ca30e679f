import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { checkTermination, expectedMaxNewTokens } from "../../src/validation/termination_check.ts";

const base = {
  completionLength: 100,
  lastToken: 7,
  eosTokenId: 7,
  eosProbability: 0.5,
  maxTokens: 512,
};

Deno.test("checkTermination() passes a completion at exactly max length without EOS", () => {
  deepStrictEqual(checkTermination({ ...base, completionLength: 512, lastToken: 3 }), {
    ok: true,
    reason: "max_length",
  });
});

Deno.test("checkTermination() fails a completion longer than max_tokens", () => {
  strictEqual(checkTermination({ ...base, completionLength: 513 }).reason, "exceeds_max_tokens");
});

Deno.test("checkTermination() fails a completion cut before EOS", () => {
  strictEqual(checkTermination({ ...base, lastToken: 3 }).reason, "not_eos");
});

Deno.test("checkTermination() accepts P(EOS) exactly 0.02", () => {
  strictEqual(checkTermination({ ...base, eosProbability: 0.02 }).ok, true);
});

Deno.test("checkTermination() fails P(EOS) below 0.02", () => {
  strictEqual(checkTermination({ ...base, eosProbability: 0.0199 }).reason, "eos_probability_low");
});

Deno.test("checkTermination() fails a NaN P(EOS)", () => {
  strictEqual(checkTermination({ ...base, eosProbability: NaN }).ok, false);
});

Deno.test("checkTermination() only computes P(EOS) when the EOS branch is reached", () => {
  let calls = 0;
  const lazy = () => {
    calls++;
    return 0.9;
  };
  checkTermination({ ...base, completionLength: 512, eosProbability: lazy });
  strictEqual(calls, 0);
  strictEqual(checkTermination({ ...base, eosProbability: lazy }).ok, true);
  strictEqual(calls, 1);
});

Deno.test("checkTermination() fails without an EOS id", () => {
  strictEqual(checkTermination({ ...base, eosTokenId: null }).reason, "no_eos_id");
});

Deno.test("checkTermination() fails an empty sequence", () => {
  strictEqual(checkTermination({ ...base, lastToken: undefined }).reason, "empty");
});

Deno.test("expectedMaxNewTokens() caps at 8192 and ignores non-positive values", () => {
  strictEqual(expectedMaxNewTokens(9000), 8192);
  strictEqual(expectedMaxNewTokens(0), 8192);
  strictEqual(expectedMaxNewTokens(-5), 8192);
  strictEqual(expectedMaxNewTokens("abc"), 8192);
});

Deno.test("expectedMaxNewTokens() truncates a float like Python int()", () => {
  strictEqual(expectedMaxNewTokens(511.9), 511);
});
