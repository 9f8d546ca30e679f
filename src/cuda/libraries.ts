/**
 * Opens the CUDA libraries through `Deno.dlopen`: the driver (`libcuda.so.1`), NVRTC and
 * cuBLASLt, each once per process (later calls return the same handle). A folder in
 * `GRAIL_CUDA_LIB_DIR` (or the `libDir` argument) is tried before the loader's search path and
 * the usual CUDA install folders.
 *
 * @module
 */

import { CudaError } from "./cuda_error.ts";

const CUDA_SYMBOLS = {
  cuInit: { parameters: ["u32"], result: "i32" },
  cuDriverGetVersion: { parameters: ["buffer"], result: "i32" },
  cuDeviceGetCount: { parameters: ["buffer"], result: "i32" },
  cuDeviceGet: { parameters: ["buffer", "i32"], result: "i32" },
  cuDeviceGetName: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  cuDeviceGetAttribute: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  cuDeviceTotalMem_v2: { parameters: ["buffer", "i32"], result: "i32" },
  cuDevicePrimaryCtxRetain: { parameters: ["buffer", "i32"], result: "i32" },
  cuDevicePrimaryCtxRelease_v2: { parameters: ["i32"], result: "i32" },
  cuCtxSetCurrent: { parameters: ["pointer"], result: "i32" },
  cuStreamCreate: { parameters: ["buffer", "u32"], result: "i32" },
  cuStreamDestroy_v2: { parameters: ["pointer"], result: "i32" },
  cuStreamSynchronize: { parameters: ["pointer"], result: "i32" },
  cuStreamWaitEvent: { parameters: ["pointer", "pointer", "u32"], result: "i32" },
  cuStreamBeginCapture_v2: { parameters: ["pointer", "i32"], result: "i32" },
  cuStreamEndCapture: { parameters: ["pointer", "buffer"], result: "i32" },
  cuGraphInstantiateWithFlags: { parameters: ["buffer", "pointer", "u64"], result: "i32" },
  cuGraphLaunch: { parameters: ["pointer", "pointer"], result: "i32" },
  cuGraphExecDestroy: { parameters: ["pointer"], result: "i32" },
  cuGraphDestroy: { parameters: ["pointer"], result: "i32" },
  cuMemAlloc_v2: { parameters: ["buffer", "usize"], result: "i32" },
  cuMemFree_v2: { parameters: ["u64"], result: "i32" },
  cuMemGetInfo_v2: { parameters: ["buffer", "buffer"], result: "i32" },
  cuMemAllocHost_v2: { parameters: ["buffer", "usize"], result: "i32" },
  cuMemFreeHost: { parameters: ["pointer"], result: "i32" },
  cuMemcpyHtoDAsync_v2: { parameters: ["u64", "buffer", "usize", "pointer"], result: "i32" },
  cuMemcpyDtoHAsync_v2: { parameters: ["buffer", "u64", "usize", "pointer"], result: "i32" },
  cuMemcpyDtoDAsync_v2: { parameters: ["u64", "u64", "usize", "pointer"], result: "i32" },
  cuMemsetD8Async: { parameters: ["u64", "u8", "usize", "pointer"], result: "i32" },
  cuModuleLoadData: { parameters: ["buffer", "buffer"], result: "i32" },
  cuModuleUnload: { parameters: ["pointer"], result: "i32" },
  cuModuleGetFunction: { parameters: ["buffer", "pointer", "buffer"], result: "i32" },
  cuLaunchKernel: {
    parameters: [
      "pointer",
      "u32",
      "u32",
      "u32",
      "u32",
      "u32",
      "u32",
      "u32",
      "pointer",
      "buffer",
      "pointer",
    ],
    result: "i32",
  },
  cuEventCreate: { parameters: ["buffer", "u32"], result: "i32" },
  cuEventRecord: { parameters: ["pointer", "pointer"], result: "i32" },
  cuEventSynchronize: { parameters: ["pointer"], result: "i32" },
  cuEventElapsedTime: { parameters: ["buffer", "pointer", "pointer"], result: "i32" },
  cuEventDestroy_v2: { parameters: ["pointer"], result: "i32" },
  cuGetErrorName: { parameters: ["i32", "buffer"], result: "i32" },
  cuGetErrorString: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

const NVRTC_SYMBOLS = {
  nvrtcVersion: { parameters: ["buffer", "buffer"], result: "i32" },
  nvrtcCreateProgram: {
    parameters: ["buffer", "buffer", "buffer", "i32", "pointer", "pointer"],
    result: "i32",
  },
  nvrtcCompileProgram: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  nvrtcGetProgramLogSize: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcGetProgramLog: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcGetPTXSize: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcGetPTX: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcDestroyProgram: { parameters: ["buffer"], result: "i32" },
  nvrtcGetErrorString: { parameters: ["i32"], result: "pointer" },
  nvrtcGetNumSupportedArchs: { parameters: ["buffer"], result: "i32" },
  nvrtcGetSupportedArchs: { parameters: ["buffer"], result: "i32" },
} as const;

const CUBLASLT_SYMBOLS = {
  cublasLtCreate: { parameters: ["buffer"], result: "i32" },
  cublasLtDestroy: { parameters: ["pointer"], result: "i32" },
  cublasLtGetVersion: { parameters: [], result: "usize" },
  cublasLtMatmulDescCreate: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  cublasLtMatmulDescDestroy: { parameters: ["pointer"], result: "i32" },
  cublasLtMatmulDescSetAttribute: {
    parameters: ["pointer", "i32", "buffer", "usize"],
    result: "i32",
  },
  cublasLtMatrixLayoutCreate: { parameters: ["buffer", "i32", "u64", "u64", "i64"], result: "i32" },
  cublasLtMatrixLayoutDestroy: { parameters: ["pointer"], result: "i32" },
  cublasLtMatmulPreferenceCreate: { parameters: ["buffer"], result: "i32" },
  cublasLtMatmulPreferenceDestroy: { parameters: ["pointer"], result: "i32" },
  cublasLtMatmulPreferenceSetAttribute: {
    parameters: ["pointer", "i32", "buffer", "usize"],
    result: "i32",
  },
  cublasLtMatmulAlgoGetHeuristic: {
    parameters: [
      "pointer",
      "pointer",
      "pointer",
      "pointer",
      "pointer",
      "pointer",
      "pointer",
      "i32",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  cublasLtMatmulAlgoConfigGetAttribute: {
    parameters: ["buffer", "i32", "buffer", "usize", "buffer"],
    result: "i32",
  },
  cublasLtMatmul: {
    parameters: [
      "pointer",
      "pointer",
      "buffer",
      "u64",
      "pointer",
      "u64",
      "pointer",
      "buffer",
      "u64",
      "pointer",
      "u64",
      "pointer",
      "buffer",
      "u64",
      "usize",
      "pointer",
    ],
    result: "i32",
  },
  cublasLtGetStatusString: { parameters: ["i32"], result: "pointer", optional: true },
} as const;

/** The driver API functions this backend calls. */
export type CudaLib = Deno.DynamicLibrary<typeof CUDA_SYMBOLS>["symbols"];
/** The NVRTC functions this backend calls. */
export type NvrtcLib = Deno.DynamicLibrary<typeof NVRTC_SYMBOLS>["symbols"];
/** The cuBLASLt functions this backend calls. */
export type CublasLtLib = Deno.DynamicLibrary<typeof CUBLASLT_SYMBOLS>["symbols"];

/** An opened library: its symbols and the file name that opened. */
export interface Opened<T> {
  /** The bound functions. */
  symbols: T;
  /** The name or path that `dlopen` accepted. */
  path: string;
}

/** File names tried, newest first (NVRTC 11.x ships its soname as `libnvrtc.so.11.2`). */
export const LIBRARY_CANDIDATES: Readonly<Record<"cuda" | "nvrtc" | "cublasLt", string[]>> = {
  cuda: ["libcuda.so.1", "libcuda.so"],
  nvrtc: ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
  cublasLt: ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"],
};

const INSTALL_DIRS = [
  "/usr/local/cuda/lib64",
  "/usr/local/cuda/targets/x86_64-linux/lib",
  "/usr/lib/x86_64-linux-gnu",
];

const cache = new Map<string, Opened<unknown>>();

/** `GRAIL_CUDA_LIB_DIR` when set and readable, else undefined. */
function envLibDir(): string | undefined {
  try {
    return Deno.env.get("GRAIL_CUDA_LIB_DIR") || undefined;
  } catch {
    // Without --allow-env the variable cannot be read: the default search applies.
    return undefined;
  }
}

/**
 * Paths to try for one library, in order: the override folder, the loader's search path (bare
 * names), then the usual CUDA install folders.
 *
 * @param names File names, preferred first.
 * @param libDir An override folder, tried first.
 * @returns The candidate paths.
 *
 * @example An override folder comes first
 * ```ts
 * import { libraryPaths } from "./libraries.ts";
 * const paths = libraryPaths(["libcuda.so.1"], "/opt/nvidia/lib");
 * if (paths[0] !== "/opt/nvidia/lib/libcuda.so.1" || paths[1] !== "libcuda.so.1") throw new Error();
 * ```
 */
export function libraryPaths(names: readonly string[], libDir?: string): string[] {
  const out: string[] = [];
  if (libDir) { for (const n of names) out.push(`${libDir.replace(/\/+$/, "")}/${n}`); }
  out.push(...names);
  for (const d of INSTALL_DIRS) for (const n of names) out.push(`${d}/${n}`);
  return out;
}

function open<S extends Deno.ForeignLibraryInterface>(
  kind: "cuda" | "nvrtc" | "cublasLt",
  symbols: S,
  libDir: string | undefined,
): Opened<Deno.DynamicLibrary<S>["symbols"]> {
  const dir = libDir ?? envLibDir();
  const key = `${kind}\0${dir ?? ""}`;
  const hit = cache.get(key);
  if (hit) return hit as Opened<Deno.DynamicLibrary<S>["symbols"]>;
  const tried: string[] = [];
  for (const path of libraryPaths(LIBRARY_CANDIDATES[kind], dir)) {
    try {
      const lib = Deno.dlopen(path, symbols);
      const opened = { symbols: lib.symbols, path };
      cache.set(key, opened);
      return opened;
    } catch (e) {
      // Deno prefixes dlerror's text with "Could not open library: " (twice); keep the cause.
      const why = (e as Error).message.split("\n")[0].replace(/(Could not open library: )+/g, "");
      tried.push(why.startsWith(path) ? why : `${path}: ${why}`);
    }
  }
  const what = kind === "cuda"
    ? "the NVIDIA driver library (is an NVIDIA driver installed?)"
    : kind === "nvrtc"
    ? "NVRTC (install the CUDA toolkit's nvrtc package)"
    : "cuBLASLt (install the CUDA toolkit's cublas package)";
  throw new CudaError(
    "no_library",
    `Cannot open ${what}; tried ${tried.length} paths: ${tried.slice(0, 2).join("; ")}${
      tried.length > 2 ? `; and ${tried.length - 2} more` : ""
    }. Set GRAIL_CUDA_LIB_DIR to the folder holding ${LIBRARY_CANDIDATES[kind][0]}`,
    { library: LIBRARY_CANDIDATES[kind][0] },
  );
}

/**
 * Opens the CUDA driver library.
 *
 * @param libDir A folder tried first (default: `GRAIL_CUDA_LIB_DIR`).
 * @returns Its symbols and path.
 * @throws {CudaError} code "no_library" when no candidate opens.
 *
 * @example Opening the driver where it exists
 * ```ts
 * import { openCuda } from "./libraries.ts";
 * try {
 *   const { path } = openCuda();
 *   if (!path.includes("libcuda")) throw new Error();
 * } catch (e) {
 *   if ((e as { code?: string }).code !== "no_library") throw e;
 * }
 * ```
 */
export function openCuda(libDir?: string): Opened<CudaLib> {
  return open("cuda", CUDA_SYMBOLS, libDir);
}

/**
 * Opens NVRTC (13, 12 or 11.x).
 *
 * @param libDir A folder tried first (default: `GRAIL_CUDA_LIB_DIR`).
 * @returns Its symbols and path.
 * @throws {CudaError} code "no_library" when no candidate opens.
 *
 * @example Opening NVRTC where it exists
 * ```ts
 * import { openNvrtc } from "./libraries.ts";
 * try {
 *   if (!openNvrtc().path.includes("nvrtc")) throw new Error();
 * } catch (e) {
 *   if ((e as { code?: string }).code !== "no_library") throw e;
 * }
 * ```
 */
export function openNvrtc(libDir?: string): Opened<NvrtcLib> {
  return open("nvrtc", NVRTC_SYMBOLS, libDir);
}

/**
 * Opens cuBLASLt (13 or 12).
 *
 * @param libDir A folder tried first (default: `GRAIL_CUDA_LIB_DIR`).
 * @returns Its symbols and path.
 * @throws {CudaError} code "no_library" when no candidate opens.
 *
 * @example Opening cuBLASLt where it exists
 * ```ts
 * import { openCublasLt } from "./libraries.ts";
 * try {
 *   if (!openCublasLt().path.includes("cublasLt")) throw new Error();
 * } catch (e) {
 *   if ((e as { code?: string }).code !== "no_library") throw e;
 * }
 * ```
 */
export function openCublasLt(libDir?: string): Opened<CublasLtLib> {
  return open("cublasLt", CUBLASLT_SYMBOLS, libDir);
}
