import { deepStrictEqual, ok as assert, strictEqual, throws } from "node:assert/strict";
import { CudaContext } from "../../src/cuda/context.ts";
import { CudaError } from "../../src/cuda/cuda_error.ts";
import { f32ToBf16Bits } from "../../src/cuda/bf16.ts";
import { kernelProgram } from "../../src/cuda/kernels_source.ts";
import { cudaTest } from "./_cuda.ts";

cudaTest("CudaContext.create() reports the device, its capability and the driver", () => {
  const ctx = CudaContext.create();
  try {
    assert(ctx.name.length > 0);
    assert(ctx.computeCapability[0] >= 5, `cc ${ctx.computeCapability}`);
    assert(ctx.smCount > 0 && ctx.driverVersion >= 11000);
    assert(/^compute_\d+$/.test(ctx.arch));
  } finally {
    ctx.destroy();
  }
});

cudaTest("CudaContext.upload() and download() round-trip bytes at offsets", () => {
  const ctx = CudaContext.create();
  try {
    const buf = ctx.alloc(64, "t");
    ctx.upload(buf, new Uint8Array(64).map((_, i) => i));
    ctx.upload(buf, new Uint8Array([200, 201]), 10);
    const back = new Uint8Array(8);
    ctx.download(back, buf, 8);
    deepStrictEqual([...back], [8, 9, 200, 201, 12, 13, 14, 15]);
  } finally {
    ctx.destroy();
  }
});

cudaTest("CudaContext.alloc() tracks current and peak bytes", () => {
  const ctx = CudaContext.create();
  try {
    const a = ctx.alloc(1000, "a");
    const b = ctx.alloc(3000, "b");
    ctx.free(a);
    strictEqual(ctx.allocatedBytes, 3000);
    strictEqual(ctx.peakBytes, 4000);
    ctx.free(b);
    ctx.free(b);
    strictEqual(ctx.allocatedBytes, 0);
  } finally {
    ctx.destroy();
  }
});

cudaTest("CudaContext.upload() refuses to overflow a buffer", () => {
  const ctx = CudaContext.create();
  try {
    const a = ctx.alloc(8, "small");
    throws(() => ctx.upload(a, new Uint8Array(9)), RangeError);
  } finally {
    ctx.destroy();
  }
});

cudaTest("CudaContext.launch() runs convert_f32_to_bf16 bit-equal to f32ToBf16Bits()", () => {
  // Exact: the kernel and the host twin implement the same round-to-nearest-even rule.
  const ctx = CudaContext.create();
  try {
    const { source, defines } = kernelProgram("bf16");
    const mod = ctx.loadModule(source, ["convert_f32_to_bf16"], defines);
    const n = 1 << 16;
    const bits = new Uint32Array(n);
    let s = 12345;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      // Every low-16 pattern around ties, across signs and exponents (NaN/Inf included).
      bits[i] = ((s & 0xffff0000) | (i & 0xffff)) >>> 0;
    }
    bits.set([0x3f808000, 0x3f818000, 0x7f7fffff, 0x7fc00001], 0);
    const input = new Float32Array(bits.buffer);
    const src = ctx.alloc(n * 4, "in"), dst = ctx.alloc(n * 2, "out");
    ctx.upload(src, input);
    ctx.launch(mod.functions.get("convert_f32_to_bf16")!, [n / 256, 1, 1], [256, 1, 1], [
      { ptr: dst },
      { ptr: src },
      { i64: n },
    ], "convert_f32_to_bf16");
    const out = new Uint16Array(n);
    ctx.download(out, dst);
    deepStrictEqual(out, f32ToBf16Bits(input));
  } finally {
    ctx.destroy();
  }
});

cudaTest("CudaContext.loadModule() names a missing entry point", () => {
  const ctx = CudaContext.create();
  try {
    const { source, defines } = kernelProgram("f32");
    throws(() => ctx.loadModule(source, ["no_such_kernel"], defines), (e: unknown) => {
      assert(e instanceof CudaError && e.code === "driver");
      assert(e.message.includes("no_such_kernel") && e.message.includes("CUDA_ERROR_NOT_FOUND"));
      return true;
    });
  } finally {
    ctx.destroy();
  }
});

cudaTest("CudaContext methods throw CudaError after destroy()", () => {
  const ctx = CudaContext.create();
  ctx.destroy();
  throws(
    () => ctx.alloc(8, "late"),
    (e: unknown) => e instanceof CudaError && e.code === "disposed",
  );
});
