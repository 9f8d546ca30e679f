// rmsnorm: y[r, i] = x[r, i] * inverseSqrt(mean_i(x[r, i]^2) + eps) * w[i]   (Hugging Face order)
//
// Shapes: x [rows, C] f32 (read), w [C] f32 (read), y [rows, C] f32 (read_write).
// Bindings: 0 run (uniform: rows), 1 params (uniform), 2 x, 3 w, 4 y.
// Dispatch: (rows, 1, 1) workgroups of WG threads (WG a power of two, an override set by the host).
//
// Determinism: one workgroup per row; thread t sums x[t], x[t + WG], ... in order, then a fixed
// binary tree over the WG partials. The order depends only on C and WG, never on the batch.

struct Run {
  rows: u32,
  x_row_offset: u32,
  _pad0: u32,
  _pad1: u32,
}

struct Params {
  c: u32,
  eps: f32,
  _pad0: u32,
  _pad1: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> run: Run;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn rmsnorm_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x;
  let base = row * p.c;
  var sum = 0.0;
  if (row < run.rows) {
    for (var i = tid; i < p.c; i += WG) {
      let v = x[base + i];
      sum = fma(v, v, sum);
    }
  }
  partial[tid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (tid < s) {
      partial[tid] = partial[tid] + partial[tid + s];
    }
    workgroupBarrier();
  }
  if (row >= run.rows) {
    return;
  }
  let inv = inverseSqrt(partial[0] / f32(p.c) + p.eps);
  for (var i = tid; i < p.c; i += WG) {
    y[base + i] = (x[base + i] * inv) * w[i];
  }
}
