/**
 * The CUDA C sources of the model's kernels (shaders/cuda/*.cu), assembled into one program per
 * precision: common.cu (types, bf16 conversion, block reductions) first, then one file per
 * kernel family.
 *
 * @module
 */

import common from "../../shaders/cuda/common.cu" with { type: "text" };
import convert from "../../shaders/cuda/convert.cu" with { type: "text" };
import embedding from "../../shaders/cuda/embedding.cu" with { type: "text" };
import rmsnorm from "../../shaders/cuda/rmsnorm.cu" with { type: "text" };
import rope from "../../shaders/cuda/rope.cu" with { type: "text" };
import attention from "../../shaders/cuda/attention.cu" with { type: "text" };
import swiglu from "../../shaders/cuda/swiglu.cu" with { type: "text" };
import bias from "../../shaders/cuda/bias.cu" with { type: "text" };
import logprob from "../../shaders/cuda/logprob.cu" with { type: "text" };

/** Activation/weight precision of a build. */
export type CudaPrecision = "bf16" | "f32";

/** Every kernel family's file, in the order they are concatenated after common.cu. */
export const KERNEL_FAMILIES: Readonly<Record<string, string>> = {
  convert,
  embedding,
  rmsnorm,
  rope,
  attention,
  swiglu,
  bias,
  logprob,
};

/** Entry points the model launches (`<family>_<variant>`). */
export const KERNEL_ENTRIES: readonly string[] = [
  "convert_f32_to_bf16",
  "convert_bf16_to_f32",
  "embedding_gather",
  "rmsnorm_rows",
  "rmsnorm_residual",
  "rope_qkv",
  "attention_causal_hs32",
  "attention_causal_hs64",
  "attention_causal_hs128",
  "swiglu_rows",
  "bias_add_rows",
  "logprob_rows",
];

/** Threads per block the host must use, one constant per kernel (the .cu files' #defines). */
export const THREADS = {
  norm: 256,
  rope: 64,
  attention: 128,
  elementwise: 256,
  logprob: 256,
} as const;

/** Queries per attention block (ATT_QB in attention.cu). */
export const ATTENTION_QUERIES_PER_BLOCK = 16;

/** Head sizes with an attention entry point. */
export const ATTENTION_HEAD_SIZES: readonly number[] = [32, 64, 128];

/**
 * The whole program's source and the macros of a precision.
 *
 * @param precision "bf16" (bf16 weights and activations) or "f32".
 * @returns The CUDA C text and the defines to compile it with.
 *
 * @example The bf16 build defines ACT_BF16
 * ```ts
 * import { kernelProgram } from "./kernels_source.ts";
 * const p = kernelProgram("bf16");
 * if (p.defines.ACT_BF16 !== "" || !p.source.includes("rope_qkv")) throw new Error();
 * ```
 */
export function kernelProgram(
  precision: CudaPrecision,
): { source: string; defines: Record<string, string> } {
  const defines: Record<string, string> = precision === "bf16" ? { ACT_BF16: "" } : {};
  const source = [common, ...Object.values(KERNEL_FAMILIES)].join("\n");
  // The host's constants must equal the kernels' #defines: checked here, once.
  const need: [string, number][] = [
    ["NORM_THREADS", THREADS.norm],
    ["ROPE_THREADS", THREADS.rope],
    ["LOGPROB_THREADS", THREADS.logprob],
    ["ATT_WARPS", THREADS.attention / 32],
  ];
  for (const [name, value] of need) {
    if (!new RegExp(`#define ${name} ${value}\\b`).test(source)) {
      throw new Error(`Kernel constant ${name} is not ${value} in shaders/cuda: update both`);
    }
  }
  return { source, defines };
}
