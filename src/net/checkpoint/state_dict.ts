/**
 * In-memory model weights as the checkpoint code handles them: a map from Hugging Face tensor
 * name to raw little-endian bytes with dtype and shape (exactly the safetensors data bytes), and
 * dtype casts with PyTorch's rounding (round to nearest, ties to even).
 *
 * @module
 */

/** Floating dtypes of published weights (safetensors names). */
export type WeightDtype = "BF16" | "F16" | "F32";

/** One tensor: little-endian element bytes, outermost dimension first. */
export interface RawTensor {
  /** Element type. */
  dtype: WeightDtype;
  /** Dimensions (`[]` for a scalar). */
  shape: readonly number[];
  /** `numel × bytesPerElement` bytes. */
  data: Uint8Array;
}

/** Weights by tensor name; iteration order is the file's (the reference's dict order). */
export type StateDict = Map<string, RawTensor>;

/** Bytes per element of each {@link WeightDtype}. */
export const WEIGHT_DTYPE_BYTES: Readonly<Record<WeightDtype, number>> = {
  BF16: 2,
  F16: 2,
  F32: 4,
};

/**
 * Number of elements of a shape (1 for a scalar).
 *
 * @param shape Dimensions.
 * @returns Their product.
 * @throws {RangeError} A negative or non-integer dimension.
 *
 * @example
 * ```ts
 * import { numel } from "./state_dict.ts";
 * if (numel([3, 4]) !== 12 || numel([]) !== 1) throw new Error();
 * ```
 */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`Shape dimensions must be non-negative integers, got ${shape}`);
    }
    n *= d;
  }
  return n;
}

function toF32(t: RawTensor): Float32Array {
  const n = t.data.length / WEIGHT_DTYPE_BYTES[t.dtype];
  if (t.dtype === "F32") return new Float32Array(t.data.slice().buffer, 0, n);
  const src = new Uint16Array(t.data.slice().buffer, 0, n);
  if (t.dtype === "F16") return Float32Array.from(new Float16Array(src.buffer, 0, n));
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
  return new Float32Array(bits.buffer);
}

/**
 * Rounds float32 values to bfloat16 bit patterns as PyTorch does (nearest, ties to even; NaN
 * becomes 0x7fc0).
 *
 * @param values Float32 values.
 * @returns bf16 bit patterns.
 */
function f32ToBf16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) out[i] = 0x7fc0;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/**
 * Casts a tensor to another dtype with PyTorch's `.to(dtype)` rounding; the same tensor when the
 * dtype already matches.
 *
 * @param t The tensor.
 * @param dtype Target dtype.
 * @returns A tensor of `dtype` with the same shape.
 *
 * @example bf16 → f32 is exact
 * ```ts
 * import { castTensor } from "./state_dict.ts";
 * const one = { dtype: "BF16" as const, shape: [1], data: new Uint8Array([0x80, 0x3f]) };
 * const f = castTensor(one, "F32");
 * if (new Float32Array(f.data.buffer)[0] !== 1) throw new Error();
 * ```
 */
export function castTensor(t: RawTensor, dtype: WeightDtype): RawTensor {
  if (t.dtype === dtype) return t;
  const f32 = toF32(t);
  let data: Uint8Array;
  if (dtype === "F32") data = new Uint8Array(f32.buffer);
  else if (dtype === "F16") data = new Uint8Array(Float16Array.from(f32).buffer);
  else data = new Uint8Array(f32ToBf16Bits(f32).buffer);
  return { dtype, shape: t.shape, data };
}
