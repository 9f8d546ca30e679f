/**
 * The candidates kernels' contract (WebGPU `SampleKernel`, CUDA `CudaCandidates`) computed plainly
 * on the CPU, and the exact comparison both backends' tests use.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { RowCandidates } from "../../src/model/sampling.ts";
import { randomFloats } from "./_gpu.ts";

/**
 * The kernel's contract computed plainly on the CPU: ids ranked by logit (NaN and ids past the
 * limit last, -0 == +0, the lower id first among equals); the first M; rho the (M+1)-th value
 * (-Infinity when excluded).
 */
function reference(row: Float32Array, m: number, limit: number) {
  const excluded = (i: number) => i >= limit || Number.isNaN(row[i]);
  const order = Array.from(row, (_, i) => i).sort((a, b) => {
    if (excluded(a) !== excluded(b)) return excluded(a) ? 1 : -1;
    if (!excluded(a) && row[a] !== row[b]) return row[b] - row[a];
    return a - b;
  });
  const value = (i: number) => (excluded(i) ? -Infinity : row[i]);
  return { ids: order.slice(0, m), rho: value(order[m]), hasNaN: row.some(Number.isNaN) };
}

/** Candidates as (id, logit bits) pairs sorted by id, for exact comparison. */
export function pairs(c: { ids: ArrayLike<number>; logits: Float32Array }): [number, number][] {
  const bits = new Uint32Array(c.logits.buffer, c.logits.byteOffset, c.logits.length);
  return Array.from(c.ids, (id, i): [number, number] => [id, bits[i]]).sort((a, b) => a[0] - b[0]);
}

/** Asserts a row's candidates equal the reference: ids with logit bits, rho, NaN flag. */
export function check(
  got: RowCandidates,
  row: Float32Array,
  m: number,
  limit: number,
  what: string,
) {
  const want = reference(row, m, limit);
  const wantLogits = Float32Array.from(
    want.ids,
    (i) => (i >= limit || Number.isNaN(row[i]) ? -Infinity : row[i]),
  );
  deepStrictEqual(pairs(got), pairs({ ids: want.ids, logits: wantLogits }), `${what}: candidates`);
  strictEqual(
    Object.is(got.rho, want.rho) || got.rho === want.rho,
    true,
    `${what}: rho ${got.rho} vs ${want.rho}`,
  );
  strictEqual(got.hasNaN, want.hasNaN, `${what}: NaN flag`);
}

/** Logits on a few levels, so that the M-th place is tied many times over. */
export function tied(v: number, seed: number, levels: number): Float32Array {
  return randomFloats(v, seed).map((x) => Math.floor((x + 1) * levels / 2) / 8);
}
