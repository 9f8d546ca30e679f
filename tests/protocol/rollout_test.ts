// Golden input: the reference window dict in ../shared/fixtures/window/qwen3-tiny-window.json
// (three rollouts written by the reference's packaging code). Malformed variants are derived from
// it one field at a time.
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { parseRollout, RolloutError, type RolloutErrorCode } from "../../src/protocol/rollout.ts";
import { readFixtureJson } from "./_fixtures.ts";

interface WindowJson {
  inferences: Record<string, unknown>[];
}
const window = await readFixtureJson<WindowJson>("window/qwen3-tiny-window.json");
const row = (): Record<string, unknown> => structuredClone(window.inferences[0]);
// deno-lint-ignore no-explicit-any
type Any = any;

function assertRejects(
  value: unknown,
  code: RolloutErrorCode,
  path: string,
  options?: Parameters<typeof parseRollout>[1],
): void {
  throws(() => parseRollout(value, options), (error: unknown) => {
    ok(error instanceof RolloutError, `expected RolloutError, got ${error}`);
    strictEqual(error.code, code);
    strictEqual(error.path, path);
    ok(error.message.includes(path), error.message);
    return true;
  });
}

Deno.test("parseRollout() returns every reference rollout of the window fixture unchanged", () => {
  strictEqual(window.inferences.length, 3);
  for (const inference of window.inferences) {
    deepStrictEqual(parseRollout(inference, { vocabSize: 2048 }), inference);
  }
});

Deno.test("parseRollout() keeps extra beacon keys such as drand's round", () => {
  const parsed = parseRollout(row());
  strictEqual(parsed.commit.beacon.round, 1234567);
});

Deno.test("parseRollout() returns a copy independent of its input", () => {
  const input = row();
  const parsed = parseRollout(input);
  (input.commit as Any).tokens[0] = 99;
  ok(parsed.commit.tokens[0] !== 99);
});

Deno.test("parseRollout() names a missing field", () => {
  const r = row();
  delete (r.commit as Any).rollout.success;
  assertRejects(r, "missing", "commit.rollout.success");
});

Deno.test("parseRollout() rejects a non-object", () => {
  assertRejects([1, 2], "wrong_type", "");
  assertRejects(null, "wrong_type", "inferences[2]", { pathPrefix: "inferences[2]" });
});

Deno.test("parseRollout() rejects a string where an integer belongs", () => {
  const r = row();
  r.window_start = "7200";
  assertRejects(r, "wrong_type", "window_start");
});

Deno.test("parseRollout() rejects 1 where a boolean belongs", () => {
  const r = row();
  r.use_drand = 1;
  assertRejects(r, "wrong_type", "use_drand");
});

Deno.test("parseRollout() rejects NaN in token_logprobs with the item's path", () => {
  const r = row();
  (r.commit as Any).rollout.token_logprobs[3] = NaN;
  assertRejects(r, "not_finite", "commit.rollout.token_logprobs[3]");
});

Deno.test("parseRollout() rejects Infinity in a float field", () => {
  const r = row();
  (r.commit as Any).rollout.total_reward = Infinity;
  assertRejects(r, "not_finite", "commit.rollout.total_reward");
});

Deno.test("parseRollout() rejects a fractional integer", () => {
  const r = row();
  r.nonce = 1.5;
  assertRejects(r, "not_integer", "nonce");
});

Deno.test("parseRollout() rejects non-hex beacon randomness", () => {
  const r = row();
  (r.commit as Any).beacon.randomness = "0xabcd";
  assertRejects(r, "bad_hex", "commit.beacon.randomness");
});

Deno.test("parseRollout() rejects a signature that is not 64 bytes of hex", () => {
  const r = row();
  (r.commit as Any).signature = "abcd";
  assertRejects(r, "bad_hex", "commit.signature");
  const r2 = row();
  r2.signature = "zz".repeat(64);
  assertRejects(r2, "bad_hex", "signature");
});

Deno.test("parseRollout() rejects a malformed block hash", () => {
  const r = row();
  r.block_hash = "5e".repeat(32);
  assertRejects(r, "bad_hex", "block_hash");
});

Deno.test("parseRollout() rejects a token id outside the given vocabulary", () => {
  const r = row();
  (r.commit as Any).tokens[5] = 2048;
  assertRejects(r, "bad_token", "commit.tokens[5]", { vocabSize: 2048 });
});

Deno.test("parseRollout() rejects a negative token id", () => {
  const r = row();
  (r.commit as Any).tokens[0] = -1;
  assertRejects(r, "bad_token", "commit.tokens[0]");
});

Deno.test("parseRollout() rejects commitments whose count differs from the tokens", () => {
  const r = row();
  (r.commit as Any).commitments.pop();
  assertRejects(r, "length_mismatch", "commit.commitments");
});

Deno.test("parseRollout() rejects token_logprobs whose count differs from the tokens", () => {
  const r = row();
  (r.commit as Any).rollout.token_logprobs.push(0);
  assertRejects(r, "length_mismatch", "commit.rollout.token_logprobs");
});

Deno.test("parseRollout() rejects prompt and completion lengths that do not add up", () => {
  const r = row();
  (r.commit as Any).rollout.prompt_length += 1;
  assertRejects(r, "length_mismatch", "commit.rollout");
});

Deno.test("parseRollout() rejects a sketch outside [0, PRIME_Q)", () => {
  const r = row();
  (r.commit as Any).commitments[2].sketch = 2147483647;
  assertRejects(r, "out_of_range", "commit.commitments[2].sketch");
});

Deno.test("parseRollout() rejects more tokens than the limit", () => {
  assertRejects(row(), "oversized", "commit.tokens", { maxLenTokens: 36 });
});

Deno.test("parseRollout() rejects a completion longer than the protocol cap", () => {
  assertRejects(row(), "out_of_range", "commit.rollout.completion_length", {
    maxCompletionTokens: 27,
  });
});

Deno.test("parseRollout() rejects an oversized string", () => {
  const r = row();
  r.challenge = "x".repeat(5000);
  assertRejects(r, "oversized", "challenge");
});

Deno.test("parseRollout() accepts exact bigint integers and rejects inexact ones", () => {
  const r = row();
  r.window_start = 7200n;
  strictEqual(parseRollout(r).window_start, 7200);
  r.window_start = 2n ** 60n;
  assertRejects(r, "out_of_range", "window_start");
});

Deno.test("parseRollout() rejects a commitment with a key besides sketch", () => {
  const r = row();
  (r.commit as Any).commitments[1].indices = [1, 2];
  assertRejects(r, "unexpected_key", "commit.commitments[1].indices");
});

Deno.test("parseRollout() rejects a hole in a sparse token array with the item's path", () => {
  const r = row();
  delete (r.commit as Any).tokens[2];
  assertRejects(r, "wrong_type", "commit.tokens[2]");
});

Deno.test("parseRollout() rejects a hole in a sparse token_logprobs array with the item's path", () => {
  const r = row();
  delete (r.commit as Any).rollout.token_logprobs[0];
  assertRejects(r, "wrong_type", "commit.rollout.token_logprobs[0]");
});

Deno.test("parseRollout() rejects undefined inside the beacon with its path", () => {
  const r = row();
  (r.commit as Any).beacon.extra = [1, undefined];
  assertRejects(r, "wrong_type", "commit.beacon.extra[1]");
});

Deno.test("parseRollout() keeps a beacon integer beyond 2^53 exact, as json.loads does", () => {
  const r = row();
  (r.commit as Any).beacon.round = 18446744073709551616n;
  strictEqual(parseRollout(r).commit.beacon.round, 18446744073709551616n);
});
