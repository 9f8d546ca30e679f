// Expected sets worked out by hand from infra spec §4.7 (stride 300, bootstrap 0..270, previous
// anchor to current, milestones; remote: newest 3 FULL, newest 15 DELTA, chains to anchors).
import { deepStrictEqual } from "node:assert/strict";
import {
  computeChainWindows,
  computeRemoteKeepWindows,
  computeRetentionWindows,
  type DeltaLinks,
} from "../../../src/net/checkpoint/retention.ts";

const range = (from: number, to: number) => {
  const out = [];
  for (let w = from; w <= to; w += 30) out.push(w);
  return out;
};
const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);

Deno.test("computeRetentionWindows() keeps bootstrap windows and the previous anchor onwards", () => {
  deepStrictEqual(sorted(computeRetentionWindows(1290)), [...range(0, 270), ...range(900, 1290)]);
});

Deno.test("computeRetentionWindows() caps bootstrap windows at the current window", () => {
  deepStrictEqual(sorted(computeRetentionWindows(60)), [0, 30, 60]);
});

Deno.test("computeRetentionWindows() adds milestones when asked", () => {
  const keep = computeRetentionWindows(9000, { milestoneIntervalWindows: 100 });
  deepStrictEqual([3000, 6000, 9000].every((w) => keep.has(w)), true);
  deepStrictEqual(keep.has(3030), false);
});

Deno.test("computeRetentionWindows() of a negative window is empty", () => {
  deepStrictEqual(computeRetentionWindows(-1).size, 0);
});

Deno.test("computeChainWindows() walks prev links down to the anchor", () => {
  const links = new Map<number, DeltaLinks>([
    [390, { anchorWindow: 300, prevWindow: 360 }],
    [360, { anchorWindow: 300, prevWindow: 330 }],
    [330, { anchorWindow: 300, prevWindow: 300 }],
  ]);
  deepStrictEqual(sorted(computeChainWindows([390], links)), [300, 330, 360]);
});

Deno.test("computeChainWindows() stops at a cycle", () => {
  const links = new Map<number, DeltaLinks>([
    [90, { anchorWindow: 0, prevWindow: 60 }],
    [60, { anchorWindow: 0, prevWindow: 90 }],
  ]);
  deepStrictEqual(sorted(computeChainWindows([90], links)), [0, 60, 90]);
});

Deno.test("computeRemoteKeepWindows() keeps an old anchor that a retained delta chain needs", () => {
  // Deltas 3000..3300 hang off anchor 2700 (a skipped anchor at 3000); current = 3300.
  const deltas = range(2730, 3300).reverse();
  const links = new Map<number, DeltaLinks>(
    deltas.map((w) => [w, { anchorWindow: 2700, prevWindow: w - 30 }]),
  );
  const keep = computeRemoteKeepWindows(
    { all: [...deltas, 2700, 2400, 2100, 1800], full: [2700, 2400, 2100, 1800], delta: deltas },
    links,
  );
  deepStrictEqual(keep.has(2700) && keep.has(2730), true);
  deepStrictEqual(keep.has(1800), false); // 4th-newest FULL, outside every rule
  deepStrictEqual(keep.has(2100), true); // 3rd-newest FULL
});

Deno.test("computeRemoteKeepWindows() keeps nothing for an empty listing", () => {
  deepStrictEqual(computeRemoteKeepWindows({ all: [], full: [], delta: [] }, new Map()).size, 0);
});
