/**
 * Loads a Hugging Face checkpoint folder as a {@link Model} on WebGPU (the default), on CUDA or on
 * the CPU.
 *
 * @module
 */

import { openCheckpoint } from "./checkpoint.ts";
import { loadCpuModel } from "./cpu_model.ts";
import type { Model } from "./model.ts";
import { WebGpuModel, type WebGpuModelOptions } from "../gpu/webgpu_model.ts";
import { CudaModel, type CudaModelOptions } from "../cuda/cuda_model.ts";

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /**
   * "webgpu" (default): the WGSL forward on the first adapter; "cuda": NVIDIA GPUs through
   * libcuda/NVRTC/cuBLASLt (bf16 by default); "cpu": the float64 reference.
   */
  backend?: "webgpu" | "cpu" | "cuda";
  /** Settings of the WebGPU backend (precision, rows per pass, context). */
  webgpu?: WebGpuModelOptions;
  /** Settings of the CUDA backend (precision, rows per pass, device). */
  cuda?: CudaModelOptions;
}

/**
 * Loads a checkpoint folder (`config.json` + `model.safetensors` or shards with an index).
 * WebGPU weights stream to the device tensor by tensor.
 *
 * @param dir The folder.
 * @param options Backend choice.
 * @returns The model; call `dispose()` when done.
 * @throws {CheckpointError} For a missing, malformed or unsupported checkpoint.
 * @throws {GpuError} For the WebGPU backend without an adapter (code "no_adapter").
 * @throws {CudaError} For the CUDA backend without a driver, device or library.
 * @throws {TypeError} For an unknown backend name.
 *
 * @example Loading a tiny model on the CPU
 * ```ts
 * import { loadModel } from "./load.ts";
 * import { makeTinyModel } from "./tiny.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "qwen2", seed: 3 });
 * const model = await loadModel(dir, { backend: "cpu" });
 * const [r] = await model.proofForward([[1, 2, 3]]);
 * model.dispose();
 * await Deno.remove(dir, { recursive: true });
 * if (r.nextTokenLogprobs.length !== 2) throw new Error();
 * ```
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<Model> {
  const backend = options.backend ?? "webgpu";
  if (backend === "cpu") return await loadCpuModel(dir);
  if (backend !== "webgpu" && backend !== "cuda") {
    throw new TypeError(
      `Unknown backend ${JSON.stringify(backend)}: expected "webgpu", "cuda" or "cpu"`,
    );
  }
  const ckpt = await openCheckpoint(dir);
  try {
    if (backend === "cuda") return await CudaModel.load(ckpt, options.cuda);
    return await WebGpuModel.load(ckpt, options.webgpu);
  } finally {
    ckpt.close();
  }
}
