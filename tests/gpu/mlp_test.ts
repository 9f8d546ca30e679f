import { ok as assert } from "node:assert/strict";
import { MlpKernel } from "../../src/gpu/mlp.ts";
import { gpuTest, randomFloats, withContext } from "./_gpu.ts";
import { dispatch, readF32, upload } from "./_run.ts";

gpuTest("MlpKernel.bind() computes silu(gate) * up within 1e-6 relative", async () => {
  const R = 3, FF = 70;
  const gu = randomFloats(R * 2 * FF, 51, 6);
  const h = await withContext(async (ctx) => {
    const kernel = await MlpKernel.create(ctx);
    const out = ctx.storage(R * FF * 4, "h");
    await dispatch(
      ctx,
      kernel.bind(ctx.uniform(new Uint32Array([R, 0, 0, 0]), "run"), upload(ctx, gu), out, FF),
      R,
    );
    return await readF32(ctx, out, R * FF);
  });
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < FF; i++) {
      const g = gu[r * 2 * FF + i], u = gu[r * 2 * FF + FF + i];
      const want = (g / (1 + Math.exp(-g))) * u;
      assert(
        Math.abs(h[r * FF + i] - want) <= 1e-6 * Math.max(1, Math.abs(want)),
        `row ${r} col ${i}`,
      );
    }
  }
});
