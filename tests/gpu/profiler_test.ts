import { ok as assert } from "node:assert/strict";
import { GpuProfiler } from "../../src/gpu/profiler.ts";
import { RmsNormKernel } from "../../src/gpu/rmsnorm.ts";
import { encodeDispatch } from "../../src/gpu/context.ts";
import { gpuTest, withContext } from "./_gpu.ts";
import { upload } from "./_run.ts";

gpuTest("GpuProfiler.flush() sums the GPU time of labelled passes", async () => {
  await withContext(async (ctx) => {
    if (!ctx.hasTimestamps) throw new Error(`adapter ${ctx.description} lacks timestamp-query`);
    const prof = new GpuProfiler(ctx);
    const norm = await RmsNormKernel.create(ctx);
    const x = upload(ctx, new Float32Array(64 * 256).fill(1));
    const op = norm.bind(
      ctx.uniform(new Uint32Array([64, 0, 0, 0]), "run"),
      x,
      upload(ctx, new Float32Array(256).fill(1)),
      ctx.storage(64 * 1024, "y"),
      256,
      1e-6,
    );
    const enc = ctx.device.createCommandEncoder();
    for (let i = 0; i < 3; i++) {
      const pass = enc.beginComputePass({ timestampWrites: prof.next("rmsnorm") });
      encodeDispatch(pass, op, 64);
      pass.end();
    }
    ctx.device.queue.submit([enc.finish()]);
    await prof.flush();
    const t = prof.totals().get("rmsnorm");
    assert(t !== undefined && t > 0, `total ${t}`);
    prof.reset();
    assert(prof.totals().size === 0);
  });
});
