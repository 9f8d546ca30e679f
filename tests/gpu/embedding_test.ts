import { deepStrictEqual } from "node:assert/strict";
import { EmbeddingKernel } from "../../src/gpu/embedding.ts";
import { allocMatrix, writeRows } from "../../src/gpu/weights.ts";
import { gpuTest, randomFloats, withContext } from "./_gpu.ts";
import { dispatch, readF32, upload } from "./_run.ts";

gpuTest(
  "EmbeddingKernel.bind() gathers rows exactly from a table split into vocabulary chunks",
  async () => {
    const V = 50, C = 12;
    const table = randomFloats(V * C, 61);
    const tokens = [0, 49, 13, 14, 26, 0];
    const meta = new Uint32Array(tokens.flatMap((t, i) => [t, i, i, 0]));
    const x = await withContext(async (ctx) => {
      const kernel = await EmbeddingKernel.create(ctx, "f32");
      const m = allocMatrix(ctx, V, C, "f32", "table", 13 * C * 4); // 4 chunks of ≤ 13 rows
      deepStrictEqual(m.chunks.map((c) => c.rows), [13, 13, 13, 11]);
      writeRows(ctx, m, 0, table);
      const out = ctx.storage(tokens.length * C * 4, "x");
      const ops = kernel.bind(
        ctx.uniform(new Uint32Array([tokens.length, 0, 0, 0]), "run"),
        upload(ctx, meta),
        m,
        out,
      );
      await dispatch(ctx, ops, tokens.length);
      return await readF32(ctx, out, tokens.length * C);
    });
    deepStrictEqual(
      x,
      new Float32Array(tokens.flatMap((t) => [...table.subarray(t * C, (t + 1) * C)])),
    );
  },
);
