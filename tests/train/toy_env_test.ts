import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { toyPrompt, toyReward } from "../../src/train/toy_env.ts";

const DIGITS = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24];

Deno.test("toyPrompt() shows digit p mod 10 twice", () => {
  deepStrictEqual(toyPrompt(27, DIGITS), [22, 22]);
});

Deno.test("toyPrompt() rejects a digit table that is not ten tokens", () => {
  throws(() => toyPrompt(1, [1, 2]), /2 token ids, expected 10/);
});

Deno.test("toyReward() gives 1 and success for echoing the digit", () => {
  deepStrictEqual(toyReward(4, [19, 19, 19], DIGITS), { reward: 1, success: true });
});

Deno.test("toyReward() gives ½ per other digit and 0 per non-digit", () => {
  strictEqual(toyReward(4, [15, 99], DIGITS).reward, 0.25);
});

Deno.test("toyReward() gives 0 for an empty completion", () => {
  strictEqual(toyReward(4, [], DIGITS).reward, 0);
});
