import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  minerSampleSize,
  minerTiebreakKey,
  selectMinersForValidation,
} from "../../src/validation/miner_sampling.ts";

// Vectors from grail-vectors.json (sizes, tie-break keys) are in vectors_test.ts.

Deno.test("minerSampleSize() is 0 with no eligible miners", () => {
  strictEqual(minerSampleSize(0), 0);
});

Deno.test("minerSampleSize() honours a null maximum", () => {
  strictEqual(minerSampleSize(400, { max: null }), 100);
});

Deno.test("selectMinersForValidation() ranks never-selected miners first", () => {
  const counts = new Map([["a", 1], ["b", 0]]);
  deepStrictEqual(
    selectMinersForValidation(["a", "b", "c", "d", "e", "f", "g", "h", "i"], "0x00", counts)
      .includes("a"),
    false,
  );
});

Deno.test("selectMinersForValidation() breaks ties by the window-hash key", () => {
  const hotkeys = ["5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX", "5Dabc", "5Zzz"];
  const wh = "0x496aca80e4d8f29fb8e8cd816c3afb48d3f103970b3a2ee1600c08ca67326dee";
  // Keys (grail-vectors.json): 5F3s… 7.44e18 < 5Zzz 9.25e18 < 5Dabc 1.11e19; size 2 of 3.
  deepStrictEqual(selectMinersForValidation(hotkeys, wh, new Map()), [hotkeys[0], "5Zzz"]);
  strictEqual(minerTiebreakKey(wh, "5Zzz") < minerTiebreakKey(wh, "5Dabc"), true);
});

Deno.test("selectMinersForValidation() of no miners is empty", () => {
  deepStrictEqual(selectMinersForValidation([], "0x00", new Map()), []);
});
