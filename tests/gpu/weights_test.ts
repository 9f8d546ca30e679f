import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { allocMatrix, dtypeBytes, writeRows } from "../../src/gpu/weights.ts";
import { gpuTest, randomFloats, withContext } from "./_gpu.ts";

Deno.test("dtypeBytes() gives 4 for f32 and 2 for f16", () => {
  strictEqual(dtypeBytes("f32"), 4);
  strictEqual(dtypeBytes("f16"), 2);
});

gpuTest("writeRows() places rows across chunk boundaries", async () => {
  await withContext(async (ctx) => {
    const m = allocMatrix(ctx, 10, 4, "f32", "m", 3 * 16);
    deepStrictEqual(m.chunks.map((c) => [c.rowStart, c.rows]), [[0, 3], [3, 3], [6, 3], [9, 1]]);
    const data = randomFloats(6 * 4, 81);
    writeRows(ctx, m, 2, data); // rows 2..7 span three chunks
    const got = new Float32Array(await ctx.read(m.chunks[1].buffer, 0, 3 * 16));
    deepStrictEqual(got, data.subarray(4, 16));
  });
});

gpuTest("writeRows() rejects partial rows and rows past the end with RangeError", async () => {
  await withContext((ctx) => {
    const m = allocMatrix(ctx, 2, 4, "f32", "m");
    throws(() => writeRows(ctx, m, 0, new Float32Array(5)), RangeError);
    throws(() => writeRows(ctx, m, 1, new Float32Array(8)), RangeError);
    return Promise.resolve();
  });
});
