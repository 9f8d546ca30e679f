import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  completionDigest,
  completionDigestCounts,
  type CopycatSubmission,
  CopycatTracker,
} from "../../src/validation/copycat.ts";
import { readValidationFixture } from "./_vectors.ts";

// Golden: the reference's CopycatTracker (tests/fixtures/validation): 8 scenarios × 6 windows.
const REF = readValidationFixture("validation_reference.json");

Deno.test("CopycatTracker matches the reference's cheaters and violations over 48 windows", () => {
  let windows = 0;
  for (const [s, scenario] of REF.copycat.entries()) {
    const tracker = new CopycatTracker();
    for (const w of scenario.windows) {
      tracker.resetInterval(Math.floor(w.window / 360));
      const subs = new Map<string, CopycatSubmission>();
      for (
        const [m, sub] of Object.entries(w.submissions) as [string, {
          digests: Record<string, number>;
          total: number;
          upload_time: number | null;
        }][]
      ) {
        subs.set(m, {
          digestCounts: new Map(Object.entries(sub.digests)),
          totalRollouts: sub.total,
          uploadTime: sub.upload_time,
        });
      }
      const r = tracker.ingestWindow(w.window, subs);
      const what = `scenario ${s} window ${w.window}`;
      deepStrictEqual([...r.windowCheaters].sort(), w.window_cheaters, what);
      deepStrictEqual([...r.intervalCheaters].sort(), w.interval_cheaters, what);
      const got = r.violations.map((v) => ({
        pair: [v.minerA, v.minerB].sort(),
        shared: v.shared,
        denominator: v.denominator,
        ratio: v.ratio,
        scope: v.scope,
        copier: v.copier,
      })).sort((a, b) =>
        a.scope !== b.scope ? (a.scope < b.scope ? -1 : 1) : a.pair.join() < b.pair.join() ? -1 : 1
      );
      deepStrictEqual(got, w.violations, what);
      windows++;
    }
  }
  strictEqual(windows, 48);
});

Deno.test("completionDigest() is sha256 of the compact JSON of the completion tokens", () => {
  const want = Array.from(
    sha256(new TextEncoder().encode("[3,4]")),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  strictEqual(completionDigest([1, 2, 3, 4], 2), want);
});

Deno.test("completionDigest() of an empty completion hashes []", () => {
  const want = Array.from(
    sha256(new TextEncoder().encode("[]")),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  strictEqual(completionDigest([1, 2], 2), want);
});

Deno.test("completionDigestCounts() skips rows without tokens", () => {
  deepStrictEqual(completionDigestCounts([{ tokens: [], promptLength: 0 }]), new Map());
});

Deno.test("CopycatTracker gates nobody when upload times are equal", () => {
  const t = new CopycatTracker();
  t.resetInterval(1);
  const d = new Map([["x", 16]]);
  const r = t.ingestWindow(
    360,
    new Map([
      ["a", { digestCounts: d, totalRollouts: 16, uploadTime: 5 }],
      ["b", { digestCounts: d, totalRollouts: 16, uploadTime: 5 }],
    ]),
  );
  strictEqual(r.windowCheaters.size, 0);
  strictEqual(r.violations.length, 2);
  strictEqual(r.violations[0].copier, null);
});

Deno.test("CopycatTracker accumulates interval overlap until the interval changes", () => {
  const t = new CopycatTracker();
  t.resetInterval(1);
  // 1 shared of 32 = 3.1 %: below the 5 % window threshold, above the 3 % interval one.
  const a = new Map([
    ["s", 1],
    ...Array.from({ length: 31 }, (_, i) => [`a${i}`, 1] as [string, number]),
  ]);
  const b = new Map([
    ["s", 1],
    ...Array.from({ length: 31 }, (_, i) => [`b${i}`, 1] as [string, number]),
  ]);
  const subs = new Map([
    ["a", { digestCounts: a, totalRollouts: 32, uploadTime: 1 }],
    ["b", { digestCounts: b, totalRollouts: 32, uploadTime: 2 }],
  ]);
  const r = t.ingestWindow(360, subs);
  deepStrictEqual([...r.windowCheaters], []);
  deepStrictEqual([...r.intervalCheaters], ["b"]);
  t.resetInterval(2);
  strictEqual(t.ingestWindow(720, new Map([["a", subs.get("a")!]])).violations.length, 0);
});
