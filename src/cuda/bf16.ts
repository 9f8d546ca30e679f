/**
 * bfloat16 on the host: the bit-level twin of shaders/cuda/common.cu's conversion (round to
 * nearest, ties to even; NaN stays a quiet NaN), for tests and host-side staging.
 *
 * @module
 */

/**
 * Rounds float32 values to bfloat16 bit patterns.
 *
 * @param values float32 values.
 * @returns One 16-bit pattern per value.
 *
 * @example Ties go to the even neighbour
 * ```ts
 * import { f32ToBf16Bits } from "./bf16.ts";
 * const bits = f32ToBf16Bits(new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8]));
 * if (bits[0] !== 0x3f80 || bits[1] !== 0x3f80 || bits[2] !== 0x3f82) throw new Error();
 * ```
 */
export function f32ToBf16Bits(values: Float32Array): Uint16Array {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < u.length; i++) {
    const b = u[i];
    if ((b & 0x7fffffff) > 0x7f800000) {
      out[i] = (b >>> 16) | 0x40;
      continue;
    }
    out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/**
 * Widens bfloat16 bit patterns to float32 (exact).
 *
 * @param bits 16-bit patterns.
 * @returns The float32 values.
 *
 * @example 0x3f80 is 1
 * ```ts
 * import { bf16BitsToF32 } from "./bf16.ts";
 * if (bf16BitsToF32(new Uint16Array([0x3f80, 0xc000]))[1] !== -2) throw new Error();
 * ```
 */
export function bf16BitsToF32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}
