import { ok as assert } from "node:assert/strict";
import { RmsNormKernel } from "../../src/gpu/rmsnorm.ts";
import { gpuTest, randomFloats, withContext } from "./_gpu.ts";
import { dispatch, readF32, upload } from "./_run.ts";

gpuTest(
  "RmsNormKernel.bind() matches x * rsqrt(mean(x²) + eps) * w within 1e-6 relative",
  async () => {
    // f32 sum of 300 squares and one rsqrt: relative error ~1e-7.
    const R = 5, C = 300, eps = 1e-6;
    const x = randomFloats(R * C, 41, 3), w = randomFloats(C, 42);
    const y = await withContext(async (ctx) => {
      const kernel = await RmsNormKernel.create(ctx);
      const out = ctx.storage(R * C * 4, "y");
      const op = kernel.bind(
        ctx.uniform(new Uint32Array([R, 0, 0, 0]), "run"),
        upload(ctx, x),
        upload(ctx, w),
        out,
        C,
        eps,
      );
      await dispatch(ctx, op, R);
      return await readF32(ctx, out, R * C);
    });
    for (let r = 0; r < R; r++) {
      let ss = 0;
      for (let i = 0; i < C; i++) ss += x[r * C + i] ** 2;
      const inv = 1 / Math.sqrt(ss / C + eps);
      for (let i = 0; i < C; i++) {
        const want = x[r * C + i] * inv * w[i];
        assert(
          Math.abs(y[r * C + i] - want) <= 1e-6 * Math.max(1, Math.abs(want)),
          `row ${r} col ${i}`,
        );
      }
    }
  },
);
