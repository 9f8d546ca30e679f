import { deepStrictEqual, ok as assert, rejects, strictEqual } from "node:assert/strict";
import { GpuError } from "../../src/gpu/gpu_error.ts";
import { gpuTest, withContext } from "./_gpu.ts";

gpuTest(
  "GpuContext.create() grants the adapter's maximum storage-binding and buffer limits",
  async () => {
    const adapter = (await navigator.gpu.requestAdapter({ powerPreference: "high-performance" }))!;
    await withContext((ctx) => {
      strictEqual(
        ctx.limits.maxStorageBufferBindingSize,
        Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize),
      );
      strictEqual(
        ctx.limits.maxComputeWorkgroupStorageSize,
        adapter.limits.maxComputeWorkgroupStorageSize,
      );
      strictEqual(
        ctx.device.limits.maxStorageBufferBindingSize,
        adapter.limits.maxStorageBufferBindingSize,
      );
      return Promise.resolve();
    });
  },
);

gpuTest("GpuContext.pipeline() rejects bad WGSL with a GpuError naming the line", async () => {
  await withContext(async (ctx) => {
    await rejects(
      ctx.pipeline(
        "@compute @workgroup_size(1) fn main() {\n  let x: u32 = nope;\n}",
        "main",
        {},
        "bad",
        [],
      ),
      (e) => e instanceof GpuError && e.code === "shader" && /bad: 2:/.test(e.message),
    );
  });
});

gpuTest("GpuContext.read() returns what was written and release() returns the bytes", async () => {
  await withContext(async (ctx) => {
    const before = ctx.allocatedBytes;
    const b = ctx.storage(64, "b");
    strictEqual(ctx.allocatedBytes, before + 64);
    ctx.write(b, 16, new Uint32Array([1, 2, 3]));
    deepStrictEqual(new Uint32Array(await ctx.read(b, 16, 12)), new Uint32Array([1, 2, 3]));
    ctx.release(b);
    assert(ctx.peakBytes >= before + 64);
    ctx.checkAlive();
  });
});
