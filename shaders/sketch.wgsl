// sketch: GRAIL v5 per-position sketch of each hidden row (protocol spec §3.2–3.3):
//   S = indices of the k largest |h[r, j]| (ties: lower index first; NaN counts as +inf),
//   sorted ascending; sum = Σ_t bucket(h[r, S_t]) * coeff[t];  out[r] = sum mod Q (floor mod).
// bucket(x) = ±#{b in 1..7 : |x| >= T_b}, T_b = 2^(1.25 b) - 1 computed in float64 on the host and
// rounded up to float32 (so |x| >= T_b in f32 equals the float64 comparison); NaN -> 0.
//
// Shapes: h [rows, C] f32 (read; rows from run.x_row_offset), coeffs [k] i32 (read; k <= 32),
// thresholds [7] u32 (read; f32 bit patterns of T_1..T_7), out [rows] u32 (read_write).
// Bindings: 0 run, 1 params, 2 h, 3 coeffs, 4 thresholds, 5 out.
// Dispatch: (rows, 1, 1) workgroups of WG threads (a power-of-two override).
//
// Determinism: all comparisons are on integers — |x| as its float32 bit pattern, which orders
// non-negative floats exactly — so selection is exact; k rounds of a (magnitude desc, index asc)
// arg-max, each a fixed tree over the workgroup; the sum is an exact integer.

struct Run {
  rows: u32,
  x_row_offset: u32,
  _pad0: u32,
  _pad1: u32,
}

struct Params {
  c: u32,
  k: u32,
  _pad0: u32,
  _pad1: u32,
}

const PRIME_Q: i32 = 2147483647;
const NONE: u32 = 0xffffffffu;
const INF_BITS: u32 = 0x7f800000u;
const MAX_K: u32 = 32u;

override WG: u32 = 128u;

@group(0) @binding(0) var<uniform> run: Run;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> h: array<f32>;
@group(0) @binding(3) var<storage, read> coeffs: array<i32>;
@group(0) @binding(4) var<storage, read> thresholds: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<u32>;

var<workgroup> key_s: array<u32, WG>;
var<workgroup> idx_s: array<u32, WG>;
var<workgroup> chosen: array<u32, MAX_K>;

// |x| as ordered bits; NaN sorts as +inf like the protocol's CPU sketch.
fn magnitude(x: f32) -> u32 {
  let a = bitcast<u32>(x) & 0x7fffffffu;
  return select(a, INF_BITS, a > INF_BITS);
}

// (key a, index ia) ranks before (key b, index ib): larger magnitude, then lower index.
fn before(a: u32, ia: u32, b: u32, ib: u32) -> bool {
  if (ib == NONE) {
    return ia != NONE;
  }
  if (ia == NONE) {
    return false;
  }
  return a > b || (a == b && ia < ib);
}

fn bucket(x: f32) -> i32 {
  let bits = bitcast<u32>(x);
  let a = bits & 0x7fffffffu;
  if (a > INF_BITS) {
    return 0;
  }
  var m = 0;
  for (var b = 0u; b < 7u; b++) {
    m += select(0, 1, a >= thresholds[b]);
  }
  return select(m, -m, (bits & 0x80000000u) != 0u);
}

@compute @workgroup_size(WG)
fn sketch_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x;
  let live = row < run.rows;
  let base = (run.x_row_offset + row) * p.c;
  var prev_key = 0u;
  var prev_idx = NONE;
  for (var round = 0u; round < p.k; round++) {
    var best_key = 0u;
    var best_idx = NONE;
    if (live) {
      for (var i = tid; i < p.c; i += WG) {
        let key = magnitude(h[base + i]);
        // Only entries ranking after the previous pick are still available.
        let available = prev_idx == NONE || before(prev_key, prev_idx, key, i);
        if (available && before(key, i, best_key, best_idx)) {
          best_key = key;
          best_idx = i;
        }
      }
    }
    key_s[tid] = best_key;
    idx_s[tid] = best_idx;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
      if (tid < s && before(key_s[tid + s], idx_s[tid + s], key_s[tid], idx_s[tid])) {
        key_s[tid] = key_s[tid + s];
        idx_s[tid] = idx_s[tid + s];
      }
      workgroupBarrier();
    }
    prev_key = key_s[0];
    prev_idx = idx_s[0];
    if (tid == 0u) {
      chosen[round] = prev_idx;
    }
    workgroupBarrier();
  }
  if (!live || tid != 0u) {
    return;
  }
  // v5: the chosen indices in ascending order.
  for (var i = 1u; i < p.k; i++) {
    let v = chosen[i];
    var j = i;
    while (j > 0u && chosen[j - 1u] > v) {
      chosen[j] = chosen[j - 1u];
      j--;
    }
    chosen[j] = v;
  }
  var sum = 0;
  for (var t = 0u; t < p.k; t++) {
    sum += bucket(h[base + chosen[t]]) * coeffs[t];
  }
  out[row] = u32(select(sum, sum + PRIME_Q, sum < 0));
}
