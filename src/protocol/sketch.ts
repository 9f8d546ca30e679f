/**
 * Per-position GRAIL v5 sketch (protocol spec §3.2): the top-16 activations by magnitude, taken
 * in ascending index order, bucketed and dotted with the coefficients, modulo `PRIME_Q`.
 *
 * **Top-k tie rule.** Activations are ranked by `|x|`, larger first; among equal `|x|` the lower
 * index ranks first; NaN ranks like +Infinity (and buckets to 0). The reference leaves ties to
 * `torch.topk`, whose order is device-specific; exact ties at the 16th/17th place are common in
 * bf16 data, and the verification tolerance absorbs the difference.
 *
 * @module
 */

import { PRIME_Q } from "./constants.ts";
import { logMagnitudeBucket } from "./bucket.ts";

// Order-invariant v5 sketch: the chosen indices in ascending order (insertion sort; k is 16).
function sortIndicesAscending(idx: Int32Array, k: number): void {
  for (let i = 1; i < k; i++) {
    const v = idx[i];
    let p = i - 1;
    while (p >= 0 && idx[p] > v) {
      idx[p + 1] = idx[p];
      p--;
    }
    idx[p + 1] = v;
  }
}

/**
 * Selects the top-`k` entries of one row by the tie rule above, in one pass with a small sorted
 * insertion array (no full sort). Writes the chosen indices, ascending, into `idxOut[0..k)`.
 */
function selectTopk(
  h: ArrayLike<number>,
  offset: number,
  width: number,
  k: number,
  idx: Int32Array,
  mag: Float64Array,
): void {
  let count = 0;
  let threshold = -1;
  for (let j = 0; j < width; j++) {
    let a = Math.abs(h[offset + j]);
    if (a !== a) a = Infinity;
    if (count === k) {
      // Equal magnitudes never displace: the kept one has the lower index.
      if (!(a > threshold)) continue;
    } else {
      count++;
    }
    let pos = count - 1;
    while (pos > 0 && mag[pos - 1] < a) {
      mag[pos] = mag[pos - 1];
      idx[pos] = idx[pos - 1];
      pos--;
    }
    mag[pos] = a;
    idx[pos] = j;
    if (count === k) threshold = mag[k - 1];
  }
  sortIndicesAscending(idx, k);
}

/**
 * {@linkcode selectTopk} for f32 rows, ranking on the IEEE bit patterns: for finite and infinite
 * f32, `bits & 0x7fffffff` orders exactly as `|x|`, and integer compares are cheaper. NaN
 * patterns are clamped to +Infinity's so both paths rank NaN alike.
 */
function selectTopkF32(
  bits: Uint32Array,
  offset: number,
  width: number,
  k: number,
  idx: Int32Array,
  mag: Uint32Array,
): void {
  let count = 0;
  let threshold = -1;
  for (let j = 0; j < width; j++) {
    let a = bits[offset + j] & 0x7fffffff;
    // threshold is −1 until k entries are kept, so this hot-path test never skips while filling.
    if (a <= threshold) continue;
    if (a > 0x7f800000) {
      a = 0x7f800000;
      if (a <= threshold) continue;
    }
    if (count < k) count++;
    let pos = count - 1;
    while (pos > 0 && mag[pos - 1] < a) {
      mag[pos] = mag[pos - 1];
      idx[pos] = idx[pos - 1];
      pos--;
    }
    mag[pos] = a;
    idx[pos] = j;
    if (count === k) threshold = mag[k - 1];
  }
  sortIndicesAscending(idx, k);
}

function sketchRow(
  h: ArrayLike<number>,
  offset: number,
  width: number,
  coeffs: Int8Array,
  idx: Int32Array,
  mag: Float64Array,
): number {
  const k = coeffs.length;
  selectTopk(h, offset, width, k, idx, mag);
  let sum = 0;
  for (let t = 0; t < k; t++) sum += logMagnitudeBucket(h[offset + idx[t]]) * coeffs[t];
  return ((sum % PRIME_Q) + PRIME_Q) % PRIME_Q;
}

function checkShape(width: number, coeffs: Int8Array): void {
  if (coeffs.length === 0) throw new RangeError("Cannot sketch with zero coefficients");
  if (width < coeffs.length) {
    throw new RangeError(
      `Cannot sketch a hidden vector of ${width} values with ${coeffs.length} coefficients: need at least as many values as coefficients`,
    );
  }
}

/**
 * The indices a sketch uses: the top-`k` of `|hidden|` under the module's tie rule (larger `|x|`
 * first, then lower index; NaN as +Infinity), returned in ascending index order.
 *
 * @param hidden One hidden vector.
 * @param k How many indices (default 16).
 * @returns `k` ascending indices.
 * @throws {RangeError} If `hidden` has fewer than `k` entries or `k < 1`.
 *
 * @example Exact ties keep the lower index
 * ```ts
 * import { sketchTopkIndices } from "./sketch.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(sketchTopkIndices([1, -3, 2, 3, -2], 3), [1, 2, 3]);
 * ```
 */
export function sketchTopkIndices(hidden: ArrayLike<number>, k: number = 16): number[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`Cannot select top-${k}: k must be ≥ 1`);
  checkShape(hidden.length, new Int8Array(k));
  const idx = new Int32Array(k);
  selectTopk(hidden, 0, hidden.length, k, idx, new Float64Array(k));
  return Array.from(idx);
}

/**
 * Sketch of one position: `floor_mod(Σ_t bucket(x[S_t]) · r_t, PRIME_Q)` where `S` is the top-`k`
 * (k = `coeffs.length`) by the tie rule, in ascending index order.
 *
 * @param hidden The position's hidden vector (f32 or f64 values, taken exactly).
 * @param coeffs Sketch coefficients (from `sketchCoefficients`).
 * @returns The sketch, an integer in `[0, PRIME_Q)`.
 * @throws {RangeError} If `hidden` is shorter than `coeffs` or `coeffs` is empty.
 *
 * @example
 * ```ts
 * import { sketchOf } from "./sketch.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * // Buckets of 2 and -31 are 1 and -4: 1·3 + (-4)·5 = -17 ≡ PRIME_Q - 17.
 * strictEqual(sketchOf([0.5, 2, -31], Int8Array.of(3, 5)), 2147483647 - 17);
 * ```
 */
export function sketchOf(hidden: ArrayLike<number>, coeffs: Int8Array): number {
  checkShape(hidden.length, coeffs);
  const k = coeffs.length;
  return sketchRow(hidden, 0, hidden.length, coeffs, new Int32Array(k), new Float64Array(k));
}

/**
 * Sketches of every position of a row-major `[L, hiddenDim]` block: `L` values.
 *
 * @param hidden `L * hiddenDim` activations, position-major.
 * @param hiddenDim Hidden size C.
 * @param coeffs Sketch coefficients.
 * @returns `L` sketches in `[0, PRIME_Q)`.
 * @throws {RangeError} If the length is not a multiple of `hiddenDim` or `hiddenDim < coeffs.length`.
 *
 * @example
 * ```ts
 * import { sketches } from "./sketch.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const hidden = Float32Array.of(2, 0.5, -31, 0, 0.25, 500);
 * deepStrictEqual(Array.from(sketches(hidden, 3, Int8Array.of(3, 5))), [2147483630, 35]);
 * ```
 */
export function sketches(hidden: Float32Array, hiddenDim: number, coeffs: Int8Array): Uint32Array {
  if (!Number.isInteger(hiddenDim) || hiddenDim < 1 || hidden.length % hiddenDim !== 0) {
    throw new RangeError(
      `Cannot split ${hidden.length} activations into rows of ${hiddenDim}: expected a positive divisor`,
    );
  }
  checkShape(hiddenDim, coeffs);
  const rows = hidden.length / hiddenDim;
  const out = new Uint32Array(rows);
  const k = coeffs.length;
  const idx = new Int32Array(k);
  const mag = new Uint32Array(k);
  const bits = new Uint32Array(hidden.buffer, hidden.byteOffset, hidden.length);
  for (let p = 0; p < rows; p++) {
    const offset = p * hiddenDim;
    selectTopkF32(bits, offset, hiddenDim, k, idx, mag);
    let sum = 0;
    for (let t = 0; t < k; t++) sum += logMagnitudeBucket(hidden[offset + idx[t]]) * coeffs[t];
    out[p] = ((sum % PRIME_Q) + PRIME_Q) % PRIME_Q;
  }
  return out;
}
