import { ok as assert, strictEqual, throws } from "node:assert/strict";
import { compilePtx, nvrtcVersion } from "../../src/cuda/nvrtc.ts";
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
