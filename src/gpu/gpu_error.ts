/**
 * The WebGPU backend's one error class.
 *
 * @module
 */

/** Stable codes of {@link GpuError}. */
export type GpuErrorCode =
  | "no_adapter"
  | "device_lost"
  | "shader"
  | "validation"
  | "limits"
  | "shape"
  | "disposed";

/**
 * A failure of the WebGPU backend: no adapter, a shader that does not compile, a tensor the
 * adapter cannot hold, a use after dispose.
 *
 * @example Catching by code
 * ```ts
 * import { GpuError } from "./gpu_error.ts";
 * const e = new GpuError("no_adapter", "No WebGPU adapter: navigator.gpu returned null");
 * if (e.code !== "no_adapter" || e.name !== "GpuError") throw new Error("unexpected");
 * ```
 */
export class GpuError extends Error {
  /** Stable machine-readable reason. */
  readonly code: GpuErrorCode;
  /**
   * Makes the error.
   *
   * @param code Stable reason.
   * @param message What was wrong, the value, what was expected, what to do.
   * @param options `cause` of a wrapped error.
   */
  constructor(code: GpuErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GpuError";
    this.code = code;
  }
}
