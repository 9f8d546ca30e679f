import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { RollingCounts } from "../../src/validation/rolling_counts.ts";

Deno.test("RollingCounts forgets the oldest window past the horizon", () => {
  const r = new RollingCounts(3);
  for (let i = 0; i < 5; i++) r.push(i % 2 === 0 ? ["a"] : ["b"]);
  // Windows kept: 2 (a), 3 (b), 4 (a).
  strictEqual(r.count("a"), 2);
  strictEqual(r.count("b"), 1);
});

Deno.test("RollingCounts counts a hotkey once per window", () => {
  const r = new RollingCounts(2);
  r.push(["a", "a"]);
  strictEqual(r.count("a"), 1);
});

Deno.test("RollingCounts keeps zero counts, like the reference", () => {
  const r = new RollingCounts(1);
  r.push(["a"]);
  r.push([]);
  deepStrictEqual(r.counts(), new Map([["a", 0]]));
});

Deno.test("RollingCounts rejects a zero horizon", () => {
  throws(() => new RollingCounts(0), RangeError);
});
