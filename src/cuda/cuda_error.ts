/**
 * The CUDA backend's one error class.
 *
 * @module
 */

/** Stable codes of {@link CudaError}. */
export type CudaErrorCode =
  | "no_library"
  | "no_device"
  | "driver"
  | "nvrtc"
  | "compile"
  | "cublas"
  | "shape"
  | "unsupported"
  | "disposed";

/**
 * A failure of the CUDA backend: a library that cannot be opened, a driver, NVRTC or cuBLASLt
 * call that returned an error status (named by library, function and status string), a kernel
 * that does not compile, a use after dispose.
 *
 * @example Catching by code
 * ```ts
 * import { CudaError } from "./cuda_error.ts";
 * const e = new CudaError("driver", "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2)", {
 *   library: "libcuda.so.1",
 *   fn: "cuMemAlloc_v2",
 *   status: 2,
 * });
 * if (e.code !== "driver" || e.status !== 2 || e.name !== "CudaError") throw new Error();
 * ```
 */
export class CudaError extends Error {
  /** Stable machine-readable reason. */
  readonly code: CudaErrorCode;
  /** The library whose call failed, when one did. */
  readonly library?: string;
  /** The failing function, when one did. */
  readonly fn?: string;
  /** The numeric status it returned, when one did. */
  readonly status?: number;

  /**
   * Makes the error.
   *
   * @param code Stable reason.
   * @param message What was wrong, the value, what was expected, what to do.
   * @param details The library, function and status of a failed call; `cause` of a wrapped error.
   */
  constructor(
    code: CudaErrorCode,
    message: string,
    details: { library?: string; fn?: string; status?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "CudaError";
    this.code = code;
    this.library = details.library;
    this.fn = details.fn;
    this.status = details.status;
  }
}
