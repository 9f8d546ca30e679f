import { deepStrictEqual, ok as assert, rejects, strictEqual } from "node:assert/strict";
import { GpuError } from "../../src/gpu/gpu_error.ts";
import { GpuContext } from "../../src/gpu/context.ts";
import { gpuSubgroupTest, gpuTest, NO_SUBGROUPS, withContext } from "./_gpu.ts";

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

gpuTest("GpuContext.create() grants subgroups exactly where the device accepts them", async () => {
  // Deno does not list `subgroups` in adapter.features, so the context asks and falls back.
  await withContext((ctx) => {
    strictEqual(ctx.hasSubgroups, NO_SUBGROUPS === null);
    strictEqual(ctx.device.features.has("subgroups"), ctx.hasSubgroups);
    return Promise.resolve();
  });
  const ctx = await GpuContext.create({ allowSubgroups: false });
  try {
    strictEqual(ctx.hasSubgroups, false);
    strictEqual(await ctx.subgroupLanesLinear(128, 4), false);
  } finally {
    ctx.destroy();
  }
});

gpuSubgroupTest(
  "GpuContext.subgroupLanesLinear() finds groups of 4 threads at consecutive lanes",
  async () => {
    // Every Vulkan driver we know lays a 1-D workgroup's threads out in lane order; the probe
    // is what kernels trust, so it must say yes where the layout is plain.
    await withContext(async (ctx) => {
      assert(ctx.subgroupSizes.max === 0 || ctx.subgroupSizes.max >= 4);
      strictEqual(await ctx.subgroupLanesLinear(128, 4), true);
      strictEqual(await ctx.subgroupLanesLinear(128, 256), false);
    });
  },
);
