/**
 * Log-magnitude bucket of one activation (protocol spec §3.3), in float64.
 *
 * @module
 */

import { PROOF_NUM_BUCKETS } from "./constants.ts";

const MAX_BUCKET = PROOF_NUM_BUCKETS - 1;
// The reference multiplies by PROOF_NUM_BUCKETS / 10.0: the double nearest 0.8.
const SCALE = PROOF_NUM_BUCKETS / 10.0;
const DEADZONE = 1e-6;

// |x| = 31 is the one bf16 value on a bucket boundary (t = 4 exactly); it needs an exact log2.
if (Math.log2(32) !== 5) {
  throw new Error("Math.log2(32) is not exactly 5 on this engine; GRAIL buckets would be wrong");
}

/**
 * Bucket of an activation: `sign(x) · clamp(trunc(log2(|x| + 1) · 0.8), 0, 7)`, with NaN → 0,
 * ±Infinity → ±7, `|x| < 1e−6` → 0, and never −0.
 *
 * @param x The activation (a bf16 or f32 value, taken exactly as a double).
 * @returns An integer in `[−7, 7]`.
 *
 * @example
 * ```ts
 * import { logMagnitudeBucket } from "./bucket.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(logMagnitudeBucket(31), 4);
 * strictEqual(logMagnitudeBucket(-30.999), -3);
 * strictEqual(logMagnitudeBucket(Number.NEGATIVE_INFINITY), -7);
 * strictEqual(logMagnitudeBucket(Number.NaN), 0);
 * ```
 */
export function logMagnitudeBucket(x: number): number {
  if (x !== x) return 0;
  if (x === Infinity) return MAX_BUCKET;
  if (x === -Infinity) return -MAX_BUCKET;
  const a = Math.abs(x);
  if (a < DEADZONE) return 0;
  let m = Math.trunc(Math.log2(a + 1.0) * SCALE);
  if (m > MAX_BUCKET) m = MAX_BUCKET;
  if (m <= 0) return 0;
  return x >= 0 ? m : -m;
}
