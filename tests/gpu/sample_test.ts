import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { SampleKernel } from "../../src/gpu/sample.ts";
import { gpuTest, randomFloats, withContext } from "./_gpu.ts";
import { check, tied } from "./_candidates.ts";

gpuTest(
  "SampleKernel.candidates() returns the reference top-M and rho on tied random rows, either path",
  async () => {
    await withContext(async (ctx) => {
      const k = await SampleKernel.create(ctx);
      // Workgroup-memory path for the first four; the last two select over the row itself: every
      // id ties (more than 1,024 reach the bound) and M + 1 above the 256 chunk maxima.
      const cases = [
        [3000, 66, 40],
        [3000, 8, 5],
        [1000, 1, 3],
        [777, 200, 2000],
        [3000, 10, 1],
        [3000, 300, 40],
      ];
      for (const [v, m, levels] of cases) {
        const rows = 3;
        const logits = new Float32Array(rows * v);
        for (let r = 0; r < rows; r++) logits.set(tied(v, 11 * r + v + m, levels), r * v);
        const got = await k.candidates(logits, v, m);
        for (let r = 0; r < rows; r++) {
          check(got[r], logits.subarray(r * v, (r + 1) * v), m, v, `V ${v} M ${m} row ${r}`);
        }
      }
    });
  },
);

gpuTest("SampleKernel.candidates() ranks -0 with +0 and the lower id first", async () => {
  await withContext(async (ctx) => {
    const k = await SampleKernel.create(ctx);
    const row = new Float32Array(600).fill(-1);
    for (let i = 0; i < 600; i += 3) row[i] = i % 2 === 0 ? -0 : 0;
    const [got] = await k.candidates(row, 600, 10);
    check(got, row, 10, 600, "signed zeros");
    deepStrictEqual([...got.ids].sort((a, b) => a - b), [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
  });
});

gpuTest("SampleKernel.candidates() ranks NaN, -Infinity and ids past the limit last", async () => {
  await withContext(async (ctx) => {
    const k = await SampleKernel.create(ctx);
    const v = 300;
    const row = randomFloats(v, 5, 4);
    row[7] = NaN;
    row[8] = -Infinity;
    row[250] = 100; // past the limit: never a candidate
    const limit = 240;
    const [got] = await k.candidates(row, v, 20, { limit });
    check(got, row, 20, limit, "mixed");
    // Fewer valid ids than M + 1: rho is -Infinity and excluded ids fill the tail as -Infinity.
    const few = new Float32Array(v).fill(NaN);
    few.set([3, 1, 2], 0);
    const [g2] = await k.candidates(few, v, 5);
    check(g2, few, 5, v, "mostly NaN");
    strictEqual(g2.rho, -Infinity);
  });
});

gpuTest("SampleKernel.candidates() handles rows narrower than a workgroup", async () => {
  await withContext(async (ctx) => {
    const k = await SampleKernel.create(ctx);
    const row = tied(100, 3, 7);
    const [got] = await k.candidates(row, 100, 99);
    check(got, row, 99, 100, "V 100 M 99");
  });
});

gpuTest("SampleKernel.candidates() gathers the logits of each row's listed ids", async () => {
  await withContext(async (ctx) => {
    const k = await SampleKernel.create(ctx);
    const v = 500;
    const logits = randomFloats(2 * v, 8);
    const seen = [[4, 499, 0, 17], [3]];
    const got = await k.candidates(logits, v, 4, { seen });
    deepStrictEqual([...got[0].seenLogits], seen[0].map((id) => logits[id]));
    deepStrictEqual([...got[1].seenLogits], [logits[v + 3]]);
    deepStrictEqual(got[0].seenIds, seen[0]);
  });
});
