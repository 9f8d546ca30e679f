/**
 * The `./model` subpath: load Hugging Face checkpoints and run them on WebGPU or the CPU —
 * the proof forward (final hidden states, next-token log-probs), KV-cached generation, sampling
 * and tokenization. Kept apart from the root export, which stays GPU-free.
 *
 * @example Loading a tiny model on the CPU
 * ```ts
 * import { loadModel, makeTinyModel } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "qwen3", seed: 1 });
 * const model = await loadModel(dir, { backend: "cpu" });
 * if (model.hiddenSize <= 0) throw new Error();
 * model.dispose();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export { loadModel, type LoadModelOptions } from "./load.ts";
export type {
  DeviceSelect,
  GenerationSession,
  GreedySteps,
  Model,
  ProofForwardOptions,
  ProofForwardResult,
  SelectResult,
} from "./model.ts";
export {
  type Architecture,
  loadModelConfig,
  type ModelConfig,
  parseModelConfig,
  type RopeScaling,
} from "./config.ts";
export {
  type Checkpoint,
  openCheckpoint,
  type SafetensorsDtype,
  type TensorInfo,
} from "./checkpoint.ts";
export {
  CheckpointError,
  type CheckpointErrorCode,
  ModelError,
  type ModelErrorCode,
} from "./errors.ts";
export { CpuModel, loadCpuModel } from "./cpu_model.ts";
export * from "./generate.ts";
export * from "./sampling.ts";
export * from "./tokenizer.ts";
export { makeTinyModel, type TinyModelOptions } from "./tiny.ts";
export {
  type DecodePhase,
  type DecodePhaseTimes,
  WebGpuGenerationSession,
  WebGpuModel,
  type WebGpuModelOptions,
  type WebGpuProofForwardOptions,
  type WebGpuProofForwardResult,
} from "../gpu/webgpu_model.ts";
export {
  type BindingKind,
  GpuContext,
  type GpuContextOptions,
  type GpuLimits,
} from "../gpu/context.ts";
export type { MatmulRowsShape, MatmulTiles } from "../gpu/matmul.ts";
export type { WeightDType } from "../gpu/weights.ts";
export { GpuError, type GpuErrorCode } from "../gpu/gpu_error.ts";
export type { CudaModelOptions } from "../cuda/cuda_model.ts";
export type { CudaPrecision } from "../cuda/kernels_source.ts";
export { CudaError, type CudaErrorCode } from "../cuda/cuda_error.ts";
