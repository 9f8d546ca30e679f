/**
 * Python and NumPy numeric semantics the validator must reproduce (internal): builtin `sum`
 * (3.12+ compensated, and the 3.11 plain loop), `math.fsum`, `math.isclose`,
 * `statistics.median`, `numpy.median` and `numpy.quantile(method="linear")`.
 */

import type { PythonSumMode } from "./advantages.ts";

/**
 * CPython's builtin `sum()` over floats. CPython ≥ 3.12 (what the reference requires) adds with
 * Neumaier compensation and applies the compensation once at the end; ≤ 3.11 adds plainly.
 */
export function pythonSum(xs: Iterable<number>, mode: PythonSumMode = "cpython312"): number {
  let f = 0;
  if (mode === "cpython311") {
    for (const x of xs) f += x;
    return f;
  }
  let c = 0;
  for (const x of xs) {
    const t = f + x;
    if (Math.abs(f) >= Math.abs(x)) c += (f - t) + x;
    else c += (x - t) + f;
    f = t;
  }
  if (c !== 0 && Number.isFinite(c)) f += c;
  return f;
}

/** CPython's `math.fsum`: the correctly rounded sum (Shewchuk partials, half-even fix-up). */
export function fsum(xs: Iterable<number>): number {
  const partials: number[] = [];
  let special = 0;
  let inf = 0;
  let sawSpecial = false;
  for (let x of xs) {
    if (!Number.isFinite(x)) {
      sawSpecial = true;
      special += x;
      if (x === Infinity || x === -Infinity) inf += x;
      continue;
    }
    let i = 0;
    for (let y of partials) {
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    if (!Number.isFinite(x)) {
      throw new RangeError("Intermediate overflow in fsum: the finite inputs sum beyond 1.8e308");
    }
    partials.length = i;
    partials.push(x);
  }
  if (sawSpecial) {
    if (Number.isNaN(inf)) throw new RangeError("fsum of -inf + inf is undefined");
    return special;
  }
  let n = partials.length;
  let hi = 0;
  if (n > 0) {
    hi = partials[--n];
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = partials[--n];
      hi = x + y;
      const yr = hi - x;
      lo = y - yr;
      if (lo !== 0) break;
    }
    // Round half to even across the remaining partials, as CPython does.
    if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
      const y = lo * 2;
      const x = hi + y;
      const yr = x - hi;
      if (y === yr) hi = x;
    }
  }
  return hi;
}

/** CPython's `math.isclose(a, b, rel_tol=relTol, abs_tol=absTol)`. */
export function isClose(a: number, b: number, relTol: number, absTol: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const diff = Math.abs(b - a);
  return diff <= Math.abs(relTol * b) || diff <= Math.abs(relTol * a) || diff <= absTol;
}

function sortedCopy(xs: readonly number[]): number[] {
  return Float64Array.from(xs).sort() as unknown as number[];
}

/** Python's `statistics.median` (also NumPy's median for non-NaN data): mean of the middle two. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("Median of an empty list is undefined");
  const s = sortedCopy(xs);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * `numpy.quantile(x, q)` with the default linear method: virtual index (n−1)·q, then NumPy's
 * `_lerp` (which interpolates from the upper neighbour when the fraction is ≥ 0.5).
 */
export function quantileLinear(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new RangeError("Quantile of an empty list is undefined");
  const s = sortedCopy(xs);
  const n = s.length;
  const virtual = (n - 1) * q;
  const prev = Math.floor(virtual);
  const next = Math.min(prev + 1, n - 1);
  const gamma = virtual - prev;
  const a = s[Math.min(prev, n - 1)];
  const b = s[next];
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}
