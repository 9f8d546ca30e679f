import { strictEqual, throws } from "node:assert/strict";
import {
  answerFormatReward,
  noTrailingReward,
  softFormatReward,
  thinkingReward,
  weightedRewardSum,
} from "../../src/envs/reward_components.ts";

// Exact comparisons: the reference computes the same double expressions.

Deno.test("thinkingReward() is 0 without a thinking block", () => {
  strictEqual(thinkingReward({ hasThinking: false }), 0);
});

Deno.test("answerFormatReward() is 0.3 with an answer", () => {
  strictEqual(answerFormatReward({ hasAnswer: true }), 0.3);
});

Deno.test("softFormatReward() is 0.2 with an answer", () => {
  strictEqual(softFormatReward({ hasAnswer: true }), 0.2);
});

Deno.test("noTrailingReward() is 0.19 with the 10-character EOS marker trailing", () => {
  // CPython: max(0.0, 0.2 - 0.001 * 10) == 0.19
  strictEqual(noTrailingReward({ hasAnswer: true, trailing: 10 }), 0.19);
});

Deno.test("noTrailingReward() floors at 0 for long trailing text", () => {
  strictEqual(noTrailingReward({ hasAnswer: true, trailing: 500 }), 0);
});

Deno.test("noTrailingReward() is 0 without an answer", () => {
  strictEqual(noTrailingReward({ hasAnswer: false, trailing: 0 }), 0);
});

Deno.test("weightedRewardSum() of no components is 0", () => {
  strictEqual(weightedRewardSum([], []), 0);
});

Deno.test("weightedRewardSum() accumulates in order like the reference", () => {
  // CPython: 0.0 + 1.0*1.0 + 0.15*0.3 + 0.1*0.2 + 0.15*0.3 + 0.1*0.2 + 0.05*0.1
  strictEqual(
    weightedRewardSum([1.0, 0.3, 0.2, 0.3, 0.2, 0.1], [1.0, 0.15, 0.10, 0.15, 0.10, 0.05]),
    1.1349999999999998,
  );
});

Deno.test("weightedRewardSum() rejects mismatched lengths", () => {
  throws(() => weightedRewardSum([1], [1, 2]), RangeError);
});
