// rmsnorm backward of y[r, i] = x[r, i]·rstd[r]·w[i], rstd[r] = inverseSqrt(mean_i x[r, i]² + eps):
//   dx[r, i] (=|+=) rstd·w[i]·dy[r, i] − x[r, i]·rstd³/D·Σ_j w[j]·dy[r, j]·x[r, j]
//   dw[i] += Σ_r dy[r, i]·x[r, i]·rstd[r]
// rmsnorm_forward_rows computes the forward for training (dx ← y, rstd kept for the backward;
// dy and dw are unused) in the same order as shaders/rmsnorm.wgsl.
// Used for the layer norms (D = C) and Qwen3's per-head q/k norms (rows = T·heads, D = HS).
//
// Shapes: dy [rows, D] f32 (read), x [rows, D] f32 (read), w [D] f32 (read), dx [rows, D] f32
// (read_write), rstd [rows] f32 (read_write: written by _rows, read by _weight), dw [D] f32
// (read_write).
// Bindings: 0 params (uniform), 1 dy, 2 x, 3 w, 4 dx, 5 rstd, 6 dw.
// Dispatch: _rows: (rows, 1, 1) workgroups of WG threads (WG a power of two); _weight:
// (ceil(D / WG), 1, 1).
//
// Determinism: per row, thread t sums elements t, t + WG, ... in order, then a fixed binary tree
// (the forward's order); dw sums rows in ascending order per element. No atomics.

struct Params {
  rows: u32,
  d: u32,
  eps: f32,
  accumulate: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;

var<workgroup> ss: array<f32, WG>;
var<workgroup> dot: array<f32, WG>;

@compute @workgroup_size(WG)
fn rmsnorm_backward_rows(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let row = wg.x;
  let base = row * p.d;
  var s = 0.0;
  var q = 0.0;
  if (row < p.rows) {
    for (var i = tid; i < p.d; i += WG) {
      let v = x[base + i];
      s = fma(v, v, s);
      q = fma(w[i] * dy[base + i], v, q);
    }
  }
  ss[tid] = s;
  dot[tid] = q;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (tid < h) {
      ss[tid] = ss[tid] + ss[tid + h];
      dot[tid] = dot[tid] + dot[tid + h];
    }
    workgroupBarrier();
  }
  if (row >= p.rows) {
    return;
  }
  let inv = inverseSqrt(ss[0] / f32(p.d) + p.eps);
  let k = dot[0] * inv * inv * inv / f32(p.d);
  if (tid == 0u) {
    rstd[row] = inv;
  }
  for (var i = tid; i < p.d; i += WG) {
    let g = inv * w[i] * dy[base + i] - k * x[base + i];
    if (p.accumulate != 0u) {
      dx[base + i] = dx[base + i] + g;
    } else {
      dx[base + i] = g;
    }
  }
}

@compute @workgroup_size(WG)
fn rmsnorm_backward_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.d) {
    return;
  }
  var acc = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    acc = fma(dy[r * p.d + i], x[r * p.d + i] * rstd[r], acc);
  }
  dw[i] = dw[i] + acc;
}

@compute @workgroup_size(WG)
fn rmsnorm_forward_rows(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let row = wg.x;
  let base = row * p.d;
  var s = 0.0;
  if (row < p.rows) {
    for (var i = tid; i < p.d; i += WG) {
      let v = x[base + i];
      s = fma(v, v, s);
    }
  }
  ss[tid] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (tid < h) {
      ss[tid] = ss[tid] + ss[tid + h];
    }
    workgroupBarrier();
  }
  if (row >= p.rows) {
    return;
  }
  let inv = inverseSqrt(ss[0] / f32(p.d) + p.eps);
  if (tid == 0u) {
    rstd[row] = inv;
  }
  for (var i = tid; i < p.d; i += WG) {
    dx[base + i] = (x[base + i] * inv) * w[i];
  }
}
