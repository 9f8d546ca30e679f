import { deepStrictEqual, ok as assert, strictEqual } from "node:assert/strict";
import { LIBRARY_CANDIDATES, libraryPaths, openCublasLt } from "../../src/cuda/libraries.ts";
import { CudaError } from "../../src/cuda/cuda_error.ts";

Deno.test("libraryPaths() tries the override folder first, then the loader, then install folders", () => {
  const paths = libraryPaths(["libx.so.1"], "/opt/cuda/lib/");
  deepStrictEqual(paths.slice(0, 2), ["/opt/cuda/lib/libx.so.1", "libx.so.1"]);
  assert(paths.includes("/usr/local/cuda/lib64/libx.so.1"));
});

Deno.test("libraryPaths() without a folder starts with the bare names", () => {
  strictEqual(libraryPaths(["a.so", "b.so"])[0], "a.so");
});

Deno.test("LIBRARY_CANDIDATES lists NVRTC 13, 12 and 11.2 sonames newest first", () => {
  deepStrictEqual(LIBRARY_CANDIDATES.nvrtc.slice(0, 3), [
    "libnvrtc.so.13",
    "libnvrtc.so.12",
    "libnvrtc.so.11.2",
  ]);
});

Deno.test("CudaError() carries the library, function and status", () => {
  const e = new CudaError("cublas", "cublasLtMatmul failed: CUBLAS_STATUS_NOT_SUPPORTED (15)", {
    library: "libcublasLt",
    fn: "cublasLtMatmul",
    status: 15,
  });
  deepStrictEqual([e.name, e.code, e.library, e.fn, e.status], [
    "CudaError",
    "cublas",
    "libcublasLt",
    "cublasLtMatmul",
    15,
  ]);
});

Deno.test("openCublasLt() opens cuBLASLt or says which paths failed and how to point elsewhere", () => {
  // Both outcomes are checked: where cuBLASLt exists (the device) the path names it; where it
  // does not (CI), the error names the library, the tries and GRAIL_CUDA_LIB_DIR.
  let opened: string | null = null;
  try {
    opened = openCublasLt("/nonexistent-cuda-dir").path;
  } catch (e) {
    assert(e instanceof CudaError && e.code === "no_library", String(e));
    assert(e.message.includes("/nonexistent-cuda-dir/libcublasLt.so.13"), e.message);
    assert(e.message.includes("GRAIL_CUDA_LIB_DIR"), e.message);
    strictEqual(e.library, "libcublasLt.so.13");
  }
  if (opened !== null) assert(opened.includes("libcublasLt"), opened);
});
