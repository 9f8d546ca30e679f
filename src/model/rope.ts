/**
 * Rotary position embedding tables, computed once on the host so that every backend rotates with
 * the very same float32 values. Follows Hugging Face's `rotate_half` convention: the pair rotated
 * by frequency i is (x[i], x[i + HS/2]).
 *
 * @module
 */

import type { ModelConfig } from "./config.ts";

const f32 = Math.fround;

/** Options of {@link ropeInverseFrequencies}. */
export interface RopeOptions {
  /**
   * Precision of the stored frequencies. Default "bfloat16": the reference loads checkpoints in
   * bf16, which casts transformers' `inv_freq` buffer to bf16, and its forward then upcasts the
   * rounded values (`inv_freq.float()`). The shared fixtures' float32 hidden states confirm it
   * (max error 5e-6 with bf16-rounded frequencies, 1e-2 at position 36 without). "float32" gives
   * transformers' values for a model loaded and kept in float32.
   */
  roundTo?: "bfloat16" | "float32";
}

/**
 * The RoPE inverse frequencies, one per rotated pair, with Llama-3 scaling applied.
 *
 * Every step is rounded to float32 as transformers computes it (`_compute_default_rope_parameters`
 * and `_compute_llama3_parameters` run on float32 tensors), then, by default, to bfloat16 as the
 * reference's bf16 model holds them (see {@link RopeOptions}).
 *
 * @param config The model config (headDim, ropeTheta, ropeScaling).
 * @param options Rounding of the result.
 * @returns HS/2 float32 inverse frequencies.
 *
 * @example Plain RoPE starts at 1 and falls geometrically
 * ```ts
 * import { ropeInverseFrequencies } from "./rope.ts";
 * const config = { headDim: 4, ropeTheta: 10000, ropeScaling: null };
 * const f32 = ropeInverseFrequencies(config, { roundTo: "float32" });
 * if (f32.length !== 2 || f32[0] !== 1 || Math.abs(f32[1] - 0.01) > 1e-9) throw new Error();
 * const bf16 = ropeInverseFrequencies(config); // 0.01 rounded to 8 significant bits
 * if (bf16[1] !== 0.010009765625) throw new Error();
 * ```
 */
export function ropeInverseFrequencies(
  config: Pick<ModelConfig, "headDim" | "ropeTheta" | "ropeScaling">,
  options: RopeOptions = {},
): Float32Array {
  const inv = float32Frequencies(config);
  return (options.roundTo ?? "bfloat16") === "bfloat16" ? roundToBf16(inv) : inv;
}

function roundToBf16(values: Float32Array): Float32Array {
  const bits = new Uint32Array(values.buffer);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]; // finite and positive here: round to nearest, ties to even
    bits[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
  }
  return values;
}

function float32Frequencies(
  config: Pick<ModelConfig, "headDim" | "ropeTheta" | "ropeScaling">,
): Float32Array {
  const dim = config.headDim;
  const inv = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    inv[i] = f32(1 / f32(Math.pow(config.ropeTheta, f32((2 * i) / dim))));
  }
  const s = config.ropeScaling;
  if (s === null || s.type === "default") return inv;
  // Llama-3 scaling: long wavelengths are divided by `factor`, short ones kept, and the band in
  // between interpolated smoothly (transformers `_compute_llama3_parameters`).
  const oldLen = s.originalMaxPositionEmbeddings;
  const lowFreqWavelen = f32(oldLen / s.lowFreqFactor);
  const highFreqWavelen = f32(oldLen / s.highFreqFactor);
  for (let i = 0; i < inv.length; i++) {
    const wavelen = f32(f32(2 * Math.PI) / inv[i]);
    const scaled = wavelen > lowFreqWavelen ? f32(inv[i] / s.factor) : inv[i];
    const medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (!medium) {
      inv[i] = scaled;
      continue;
    }
    const smooth = f32(
      f32(f32(oldLen / wavelen) - s.lowFreqFactor) / f32(s.highFreqFactor - s.lowFreqFactor),
    );
    inv[i] = f32(f32(f32(f32(1 - smooth) * scaled) / s.factor) + f32(smooth * scaled));
  }
  return inv;
}

/** Cosine and sine of every (position, frequency) angle; row-major [T, HS/2]. */
export interface RopeTable {
  /** cos(angle) as float32. */
  cos: Float32Array;
  /** sin(angle) as float32. */
  sin: Float32Array;
}

/**
 * cos/sin of `pos * invFreq[i]` for positions [0, lenTokens), the angle rounded to float32 first
 * as transformers' float32 outer product does (HF's attention scaling is 1 for default and
 * Llama-3 RoPE, so no factor is applied).
 *
 * @param invFreq From {@link ropeInverseFrequencies}.
 * @param lenTokens Number of positions.
 * @returns The [T, HS/2] tables.
 * @throws {RangeError} If lenTokens is not a non-negative integer.
 *
 * @example Position 0 is the identity rotation
 * ```ts
 * import { ropeTable } from "./rope.ts";
 * const { cos, sin } = ropeTable(new Float32Array([1, 0.5]), 2);
 * if (cos[0] !== 1 || sin[0] !== 0 || sin[2] !== Math.fround(Math.sin(1))) throw new Error();
 * ```
 */
export function ropeTable(invFreq: Float32Array, lenTokens: number): RopeTable {
  if (!Number.isInteger(lenTokens) || lenTokens < 0) {
    throw new RangeError(`Invalid lenTokens: got ${lenTokens}, expected a non-negative integer`);
  }
  const half = invFreq.length;
  const cos = new Float32Array(lenTokens * half);
  const sin = new Float32Array(lenTokens * half);
  for (let t = 0; t < lenTokens; t++) {
    for (let i = 0; i < half; i++) {
      const angle = f32(t * invFreq[i]);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
