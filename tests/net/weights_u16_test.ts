import { assertEquals, throwsRangeError } from "./_assert.ts";
import {
  convertWeightsForEmit,
  roundHalfEven,
  SDK_VERSION_KEY,
  versionAsInt,
} from "../../src/net/weights_u16.ts";

interface Case {
  name: string;
  uids: number[];
  weights: number[];
  expected_uids: number[];
  expected_weights: number[];
}

// Golden u16 vectors computed by tests/fixtures/chain/make_weights_u16.py with numpy float32 and
// CPython's round(), from the float weights of ../shared/fixtures/grail-vectors.json and edge cases.
const FIXTURE: { cases: Case[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/chain/weights_u16.json", import.meta.url)),
);

for (const c of FIXTURE.cases) {
  Deno.test(`convertWeightsForEmit() matches the SDK on "${c.name}"`, () => {
    // Bit-exact: integers on chain.
    const out = convertWeightsForEmit(c.uids, c.weights);
    assertEquals(out, { uids: c.expected_uids, weights: c.expected_weights });
  });
}

Deno.test("convertWeightsForEmit() covers both grail-vectors weight entries", () => {
  const names = FIXTURE.cases.map((c) => c.name);
  assertEquals(names.includes("grail-vectors weights"), true);
  assertEquals(names.includes("grail-vectors weights_underproduction"), true);
});

Deno.test("convertWeightsForEmit() gives the max weight 65535", () => {
  assertEquals(convertWeightsForEmit([4, 2], [3, 6]).weights, [32768, 65535]);
});

Deno.test("convertWeightsForEmit() emits nothing for an all-zero vector", () => {
  assertEquals(convertWeightsForEmit([0, 1], [0, 0]), { uids: [], weights: [] });
});

Deno.test("convertWeightsForEmit() converts a single weight", () => {
  assertEquals(convertWeightsForEmit([9], [1e-30]), { uids: [9], weights: [65535] });
});

Deno.test("convertWeightsForEmit() rejects a negative weight naming its index", () => {
  const message = throwsRangeError(() => convertWeightsForEmit([0, 1], [0.5, -0.1]));
  assertEquals(message.includes("index 1") && message.includes("-0.1"), true);
});

Deno.test("convertWeightsForEmit() rejects NaN and infinite weights", () => {
  throwsRangeError(() => convertWeightsForEmit([0], [NaN]));
  throwsRangeError(() => convertWeightsForEmit([0, 1], [1, Infinity]));
});

Deno.test("convertWeightsForEmit() rejects unequal lengths", () => {
  const message = throwsRangeError(() => convertWeightsForEmit([0, 1, 2], [1, 1]));
  assertEquals(message.includes("3 uids and 2 weights"), true);
});

Deno.test("convertWeightsForEmit() rejects an empty vector", () => {
  throwsRangeError(() => convertWeightsForEmit([], []));
});

Deno.test("convertWeightsForEmit() rejects uids outside u16", () => {
  throwsRangeError(() => convertWeightsForEmit([-1], [1]));
  throwsRangeError(() => convertWeightsForEmit([65536], [1]));
  throwsRangeError(() => convertWeightsForEmit([1.5], [1]));
});

Deno.test("roundHalfEven() rounds exact ties to even like Python round()", () => {
  assertEquals([0.5, 1.5, 2.5, -0.5, -1.5, 65534.5].map(roundHalfEven), [0, 2, 2, 0, -2, 65534]);
});

Deno.test("roundHalfEven() rounds non-ties to nearest", () => {
  assertEquals([0.49999999999999994, 0.5000000000000001, 7.2].map(roundHalfEven), [0, 1, 7]);
});

Deno.test("versionAsInt() encodes the reference SDK version as its version key", () => {
  assertEquals(versionAsInt("9.12.1"), SDK_VERSION_KEY);
  assertEquals(versionAsInt("10.0.0rc1"), 10_000_000);
});

Deno.test("versionAsInt() rejects parts of 1000 or more", () => {
  throwsRangeError(() => versionAsInt("1.1000.0"));
  throwsRangeError(() => versionAsInt("v9"));
});
