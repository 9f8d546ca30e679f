import { ok as assert, strictEqual, throws } from "node:assert/strict";
import { compilePtx, nvrtcSupportedArchs, nvrtcVersion, pickArch } from "../../src/cuda/nvrtc.ts";
import { CudaError } from "../../src/cuda/cuda_error.ts";
import { KERNEL_FAMILIES, kernelEntries, kernelProgram } from "../../src/cuda/kernels_source.ts";
import { nvrtcTest } from "./_cuda.ts";

for (const precision of ["bf16", "f32"] as const) {
  nvrtcTest(`compilePtx() compiles every kernel family in ${precision} for compute_90`, () => {
    const { source, defines } = kernelProgram(precision);
    const { ptx } = compilePtx(source, { arch: "compute_90", defines });
    for (const e of kernelEntries(precision)) {
      assert(ptx.includes(`.entry ${e}(`), `entry ${e} missing`);
    }
  });
}

nvrtcTest("compilePtx() compiles each kernel family on its own after common.cu", () => {
  const common = kernelProgram("bf16").source.split("\n// convert:")[0];
  for (const [name, text] of Object.entries(KERNEL_FAMILIES)) {
    const { ptx } = compilePtx(`${common}\n${text}`, {
      arch: "compute_80",
      defines: { ACT_BF16: "" },
      name: `${name}.cu`,
    });
    assert(ptx.includes(".entry"), `${name}.cu has no entry`);
  }
});

nvrtcTest(
  "compilePtx() compiles sketch.cu without common.cu (CudaSketch.compile loads it alone)",
  () => {
    const { ptx } = compilePtx(KERNEL_FAMILIES.sketch, { arch: "compute_80", name: "sketch.cu" });
    assert(ptx.includes(".entry sketch_rows("), "entry sketch_rows missing");
  },
);

nvrtcTest("compilePtx() reports a compile error with the compiler's log", () => {
  const err = (() => {
    try {
      compilePtx('extern "C" __global__ void k() { undefined_thing(); }', {
        arch: "compute_80",
        name: "broken.cu",
      });
    } catch (e) {
      return e;
    }
  })();
  assert(err instanceof CudaError);
  strictEqual(err.code, "compile");
  assert(err.message.includes("undefined_thing"), err.message);
  assert(err.message.includes("NVRTC_ERROR_COMPILATION"), err.message);
});

nvrtcTest("nvrtcVersion() reports 11.x or newer", () => {
  assert(nvrtcVersion().major >= 11);
});

Deno.test("compilePtx() rejects an architecture that is not compute_XY", () => {
  throws(() => compilePtx("", { arch: "sm_90" }), TypeError);
});

Deno.test("kernelProgram() defines ACT_BF16 only for bf16", () => {
  strictEqual(kernelProgram("bf16").defines.ACT_BF16, "");
  strictEqual(kernelProgram("f32").defines.ACT_BF16, undefined);
});

Deno.test("pickArch() takes the device's architecture when NVRTC knows it", () => {
  strictEqual(pickArch(90, [80, 86, 90]), "compute_90");
});

Deno.test("pickArch() falls back to the newest architecture below a newer device", () => {
  strictEqual(pickArch(120, [75, 80, 90, 100]), "compute_100");
});

Deno.test("pickArch() refuses a device older than everything NVRTC targets", () => {
  throws(
    () => pickArch(52, [75, 80]),
    (e: unknown) => e instanceof CudaError && e.code === "nvrtc",
  );
});

nvrtcTest("nvrtcSupportedArchs() lists compute_80 and compute_90 in ascending order", () => {
  const archs = nvrtcSupportedArchs();
  assert(archs.includes(80) && archs.includes(90), String(archs));
  assert(archs.every((a, i) => i === 0 || archs[i - 1] < a));
});
