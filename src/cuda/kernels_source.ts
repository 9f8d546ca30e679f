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
import attentionTc from "../../shaders/cuda/attention_tc.cu" with { type: "text" };
import swiglu from "../../shaders/cuda/swiglu.cu" with { type: "text" };
import bias from "../../shaders/cuda/bias.cu" with { type: "text" };
import logprob from "../../shaders/cuda/logprob.cu" with { type: "text" };
import sample from "../../shaders/cuda/sample.cu" with { type: "text" };
import sketch from "../../shaders/cuda/sketch.cu" with { type: "text" };

/** Activation/weight precision of a build. */
export type CudaPrecision = "bf16" | "f32";

/** Every kernel family's file, in the order they are concatenated after common.cu. */
export const KERNEL_FAMILIES: Readonly<Record<string, string>> = {
  convert,
  embedding,
  rmsnorm,
  rope,
  attention,
  attention_tc: attentionTc,
  swiglu,
  bias,
  logprob,
  sample,
  sketch,
};

/** Entry points of the bf16 build only (tensor-core attention: bf16 operands). */
export const BF16_ONLY_ENTRIES: readonly string[] = [
  "attention_tc_hs32",
  "attention_tc_hs64",
  "attention_tc_hs128",
];

/** Entry points of every build (`<family>_<variant>`). */
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
  "swiglu_rows2",
  "bias_add_rows",
  "logprob_rows",
  "sample_topm",
  "sample_feed",
  "sketch_rows",
];

/** Threads per block the host must use, one constant per kernel (the .cu files' #defines). */
export const THREADS = {
  norm: 256,
  rope: 256,
  attention: 128,
  elementwise: 256,
  logprob: 256,
  sample: 512,
  sketch: 128,
} as const;

/** Queries per attention block (ATT_QB in attention.cu). */
export const ATTENTION_QUERIES_PER_BLOCK = 16;

/** Queries per tensor-core attention block (TC_QB in attention_tc.cu: 4 warps × 16 rows). */
export const ATTENTION_TC_QUERIES_PER_BLOCK = 64;

/**
 * The entry points of a build.
 *
 * @param precision The build.
 * @returns Every entry name the build defines.
 *
 * @example The bf16 build adds the tensor-core attention
 * ```ts
 * import { kernelEntries } from "./kernels_source.ts";
 * if (!kernelEntries("bf16").includes("attention_tc_hs64")) throw new Error();
 * if (kernelEntries("f32").includes("attention_tc_hs64")) throw new Error();
 * ```
 */
export function kernelEntries(precision: CudaPrecision): string[] {
  return precision === "bf16" ? [...KERNEL_ENTRIES, ...BF16_ONLY_ENTRIES] : [...KERNEL_ENTRIES];
}

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
    ["SAMPLE_THREADS", THREADS.sample],
    ["SKETCH_THREADS", THREADS.sketch],
    ["ATT_WARPS", THREADS.attention / 32],
    ["TC_WARPS", THREADS.attention / 32],
  ];
  for (const [name, value] of need) {
    if (!new RegExp(`#define ${name} ${value}\\b`).test(source)) {
      throw new Error(`Kernel constant ${name} is not ${value} in shaders/cuda: update both`);
    }
  }
  return { source, defines };
}
