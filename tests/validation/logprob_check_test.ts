import { ok, strictEqual, throws } from "node:assert/strict";
import {
  checkLogprobs,
  logprobDeviation,
  logprobShapeOk,
} from "../../src/validation/logprob_check.ts";

// Vectors from grail-vectors.json are in vectors_test.ts (exact).

Deno.test("checkLogprobs() fails unless exactly 32 positions resolved", () => {
  const r = checkLogprobs([0, 0], [0, 0]);
  strictEqual(r.ok, false);
  strictEqual(r.reason, "wrong_count");
});

Deno.test("checkLogprobs() uses the median, so a few outliers pass", () => {
  const model = new Array(32).fill(-1);
  const miner = model.map((x, i) => (i < 15 ? x - 5 : x));
  ok(checkLogprobs(model, miner).ok);
});

Deno.test("checkLogprobs() fails when half the positions deviate", () => {
  const model = new Array(32).fill(-1);
  const miner = model.map((x, i) => (i < 17 ? x - 0.2 : x));
  strictEqual(checkLogprobs(model, miner).reason, "median_too_high");
});

Deno.test("checkLogprobs() rejects lists of different lengths", () => {
  throws(() => checkLogprobs([0], []), RangeError);
});

Deno.test("logprobDeviation() is symmetric", () => {
  strictEqual(logprobDeviation(-1, -2), logprobDeviation(-2, -1));
});

Deno.test("logprobShapeOk() needs 32 completion tokens", () => {
  strictEqual(logprobShapeOk(100, 31, 100), false);
});
