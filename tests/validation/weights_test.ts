import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { computeWeights, type ScoredWindowMetrics } from "../../src/validation/weights.ts";
import { readValidationFixture } from "./_vectors.ts";

// Golden: the reference's WeightComputer (tests/fixtures/validation): 60 metagraphs. Exact:
// the same double operations in the same order, fsum where the reference uses it.
const REF = readValidationFixture("validation_reference.json");

function inputs(c: {
  hotkeys: string[];
  uids: number[];
  target_window: number;
  availability: Record<string, number>;
  inference_counts: Record<string, Record<string, ScoredWindowMetrics>>;
}) {
  return {
    hotkeys: c.hotkeys,
    uids: c.uids,
    targetWindow: c.target_window,
    availability: new Map(Object.entries(c.availability)),
    inferenceCounts: new Map(
      Object.entries(c.inference_counts).map(([hk, ws]) => [
        hk,
        new Map(Object.entries(ws).map(([w, m]) => [Number(w), m])),
      ]),
    ),
  };
}

Deno.test("computeWeights() matches the reference's WeightComputer on 60 metagraphs", () => {
  strictEqual(REF.weights.length, 60);
  for (const [i, c] of REF.weights.entries()) {
    deepStrictEqual(computeWeights(inputs(c)).weights, c.weights, `case ${i}`);
  }
});

Deno.test("computeWeights() keeps pre-burn weights when UID 0 is not in the metagraph", () => {
  const r = computeWeights({
    hotkeys: ["a"],
    uids: [3],
    targetWindow: 360,
    availability: new Map([["a", 12]]),
    inferenceCounts: new Map([[
      "a",
      new Map([[360, { estimated_unique: 60000, had_failure: 0 }]]),
    ]]),
  });
  deepStrictEqual(r.weights, [1]);
});

Deno.test("computeWeights() zeroes a miner with any failed recent window", () => {
  const r = computeWeights({
    hotkeys: ["burn", "a"],
    uids: [0, 1],
    targetWindow: 360,
    availability: new Map([["a", 2]]),
    inferenceCounts: new Map([[
      "a",
      new Map([[360, { estimated_unique: 5000, had_failure: 0 }], [330, { had_failure: 1 }]]),
    ]]),
  });
  deepStrictEqual(r.weights, [1, 0]);
  deepStrictEqual(r.nonZero, [["burn", 1]]);
});

Deno.test("computeWeights() refuses a disabled burn like the reference", () => {
  throws(
    () =>
      computeWeights({
        hotkeys: ["a"],
        uids: [0],
        targetWindow: 0,
        availability: new Map(),
        inferenceCounts: new Map(),
      }, { burnUid: null }),
    RangeError,
  );
});

Deno.test("computeWeights() rejects mismatched hotkeys and uids", () => {
  throws(
    () =>
      computeWeights({
        hotkeys: ["a"],
        uids: [],
        targetWindow: 0,
        availability: new Map(),
        inferenceCounts: new Map(),
      }),
    RangeError,
  );
});
