/**
 * Compiles CUDA C to PTX with NVRTC (no GPU needed). NVRTC runs with no include path here, so
 * sources must be self-contained (see shaders/cuda/common.cu).
 *
 * @module
 */

import { CudaError } from "./cuda_error.ts";
import { cBytes, cString } from "./_ffi.ts";
import { type NvrtcLib, openNvrtc } from "./libraries.ts";

/** Options of {@link compilePtx}. */
export interface CompileOptions {
  /** Virtual architecture, e.g. "compute_90" (from the device's compute capability). */
  arch: string;
  /** Preprocessor macros, name → value ("" defines the name alone). */
  defines?: Readonly<Record<string, string>>;
  /** Program name shown in the compiler's messages; default "grail.cu". */
  name?: string;
  /** A folder tried first when opening libnvrtc (default: `GRAIL_CUDA_LIB_DIR`). */
  libDir?: string;
}

/** A compiled program. */
export interface CompiledPtx {
  /** The PTX text (NUL-free). */
  ptx: string;
  /** The compiler's log (warnings), possibly empty. */
  log: string;
}

/**
 * The NVRTC version of the library that {@link compilePtx} uses.
 *
 * @param libDir A folder tried first when opening libnvrtc.
 * @returns Major and minor version.
 * @throws {CudaError} code "no_library" without NVRTC.
 *
 * @example Reading the version where NVRTC exists
 * ```ts
 * import { nvrtcVersion } from "./nvrtc.ts";
 * try {
 *   const v = nvrtcVersion();
 *   if (v.major < 11) throw new Error();
 * } catch (e) {
 *   if ((e as { code?: string }).code !== "no_library") throw e;
 * }
 * ```
 */
export function nvrtcVersion(libDir?: string): { major: number; minor: number } {
  const lib = openNvrtc(libDir).symbols;
  const major = new Int32Array(1), minor = new Int32Array(1);
  check(lib, lib.nvrtcVersion(major, minor), "nvrtcVersion");
  return { major: major[0], minor: minor[0] };
}

/**
 * The compute capabilities this NVRTC can target, as XY numbers (e.g. 90 for compute_90).
 *
 * @param libDir A folder tried first when opening libnvrtc.
 * @returns Ascending capabilities.
 * @throws {CudaError} code "no_library" without NVRTC.
 *
 * @example NVRTC 11.8 and later target compute_80
 * ```ts
 * import { nvrtcSupportedArchs } from "./nvrtc.ts";
 * try {
 *   if (!nvrtcSupportedArchs().includes(80)) throw new Error();
 * } catch (e) {
 *   if ((e as { code?: string }).code !== "no_library") throw e;
 * }
 * ```
 */
export function nvrtcSupportedArchs(libDir?: string): number[] {
  const lib = openNvrtc(libDir).symbols;
  const n = new Int32Array(1);
  check(lib, lib.nvrtcGetNumSupportedArchs(n), "nvrtcGetNumSupportedArchs");
  const archs = new Int32Array(n[0]);
  check(lib, lib.nvrtcGetSupportedArchs(archs), "nvrtcGetSupportedArchs");
  return [...archs].sort((x, y) => x - y);
}

/**
 * The virtual architecture to compile for: the device's own when NVRTC knows it, else the newest
 * one NVRTC knows below it (the driver JIT-compiles that PTX for the newer device).
 *
 * @param capability The device's compute capability as XY (e.g. 90).
 * @param supported What NVRTC can target (from {@link nvrtcSupportedArchs}).
 * @returns "compute_XY".
 * @throws {CudaError} code "nvrtc" when NVRTC knows no architecture at or below the device's.
 *
 * @example An older NVRTC on a newer GPU
 * ```ts
 * import { pickArch } from "./nvrtc.ts";
 * if (pickArch(100, [75, 80, 86, 89, 90]) !== "compute_90") throw new Error();
 * if (pickArch(90, [80, 90]) !== "compute_90") throw new Error();
 * ```
 */
export function pickArch(capability: number, supported: readonly number[]): string {
  const ok = supported.filter((a) => a <= capability);
  if (ok.length === 0) {
    throw new CudaError(
      "nvrtc",
      `NVRTC targets compute capabilities ${
        supported.join(", ")
      }, none at or below the device's ${capability}; install an NVRTC that supports this GPU`,
      { library: "libnvrtc" },
    );
  }
  return `compute_${Math.max(...ok)}`;
}

function check(lib: NvrtcLib, status: number, fn: string, extra = ""): void {
  if (status === 0) return;
  const text = cString(lib.nvrtcGetErrorString(status));
  throw new CudaError(
    status === 6 ? "compile" : "nvrtc",
    `${fn} failed: ${text} (${status})${extra}`,
    { library: "libnvrtc", fn, status },
  );
}

/**
 * Compiles one CUDA C source to PTX for a virtual architecture.
 *
 * @param source The CUDA C text (self-contained: no #include).
 * @param options Architecture, macros, name.
 * @returns The PTX and the compiler log.
 * @throws {CudaError} code "compile" with the compiler's log when the source does not compile;
 *   "nvrtc" for other NVRTC failures (e.g. an architecture this NVRTC does not know);
 *   "no_library" without NVRTC.
 * @throws {TypeError} For an architecture not of the form compute_XY.
 *
 * @example Compiling a kernel where NVRTC exists
 * ```ts
 * import { compilePtx } from "./nvrtc.ts";
 * try {
 *   const { ptx } = compilePtx('extern "C" __global__ void k(float* x) { x[0] = 1.0f; }', {
 *     arch: "compute_80",
 *   });
 *   if (!ptx.includes(".entry k")) throw new Error();
 * } catch (e) {
 *   if ((e as { code?: string }).code !== "no_library") throw e;
 * }
 * ```
 */
export function compilePtx(source: string, options: CompileOptions): CompiledPtx {
  if (!/^compute_\d{2,3}[a-z]?$/.test(options.arch)) {
    throw new TypeError(
      `Invalid arch ${
        JSON.stringify(options.arch)
      }: expected a virtual architecture like "compute_90"`,
    );
  }
  const lib = openNvrtc(options.libDir).symbols;
  const progBox = new BigUint64Array(1);
  check(
    lib,
    lib.nvrtcCreateProgram(
      progBox,
      cBytes(source),
      cBytes(options.name ?? "grail.cu"),
      0,
      null,
      null,
    ),
    "nvrtcCreateProgram",
  );
  const prog = Deno.UnsafePointer.create(progBox[0]);
  try {
    const opts = [
      `--gpu-architecture=${options.arch}`,
      "--std=c++14",
      ...Object.entries(options.defines ?? {}).map(([k, v]) => v === "" ? `-D${k}` : `-D${k}=${v}`),
    ].map(cBytes);
    const ptrs = new BigUint64Array(opts.length);
    opts.forEach((o, i) => ptrs[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(o))));
    const status = lib.nvrtcCompileProgram(prog, opts.length, ptrs);
    const log = programLog(lib, prog);
    check(lib, status, "nvrtcCompileProgram", log ? `:\n${log.slice(0, 4000)}` : "");
    const size = new BigUint64Array(1);
    check(lib, lib.nvrtcGetPTXSize(prog, size), "nvrtcGetPTXSize");
    const buf = new Uint8Array(Number(size[0]));
    check(lib, lib.nvrtcGetPTX(prog, buf), "nvrtcGetPTX");
    const end = buf.indexOf(0);
    return { ptx: new TextDecoder().decode(end < 0 ? buf : buf.subarray(0, end)), log };
  } finally {
    lib.nvrtcDestroyProgram(progBox);
  }
}

function programLog(lib: NvrtcLib, prog: Deno.PointerValue): string {
  const size = new BigUint64Array(1);
  if (lib.nvrtcGetProgramLogSize(prog, size) !== 0 || size[0] <= 1n) return "";
  const buf = new Uint8Array(Number(size[0]));
  if (lib.nvrtcGetProgramLog(prog, buf) !== 0) return "";
  const end = buf.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buf : buf.subarray(0, end)).trim();
}
