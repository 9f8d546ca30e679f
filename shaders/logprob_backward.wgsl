// logprob backward: per row r of logits z[r, V] with target y[r], the forward statistics
//   lp[r] = z[y] − lse,  H[r] = −Σ_v p_v·log p_v = lse − Σ_v p_v·z_v,
// and, given dlp[r] = ∂L/∂lp and dh[r] = ∂L/∂H, the gradient of the logits
//   dz[r, v] = dlp·(1[v = y] − p_v) − dh·p_v·(log p_v + H).
//
// Shapes: z [rows, V] f32 (read), targets [rows] u32 (read), dlp/dh [rows] f32 (read),
// dz [rows, V] f32 (read_write), stats [rows, 2] f32 (read_write: lp, H).
// Bindings: 0 params (uniform), 1 z, 2 targets, 3 dlp, 4 dh, 5 dz, 6 stats.
// Dispatch: (rows, 1, 1) workgroups of WG threads (WG a power of two).
//
// Determinism: one workgroup per row; max, Σ exp and Σ exp·z are thread-strided sequential sums
// then a fixed binary tree. exp/log are WGSL's (the logprob forward uses the same).

struct Params {
  rows: u32,
  v: u32,
  _pad0: u32,
  _pad1: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read> dlp: array<f32>;
@group(0) @binding(4) var<storage, read> dh: array<f32>;
@group(0) @binding(5) var<storage, read_write> dz: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;

var<workgroup> red_a: array<f32, WG>;
var<workgroup> red_b: array<f32, WG>;

@compute @workgroup_size(WG)
fn logprob_backward_rows(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let row = wg.x;
  let base = row * p.v;
  let live = row < p.rows;
  var m = -3.4028235e38;
  if (live) {
    for (var i = tid; i < p.v; i += WG) {
      m = max(m, z[base + i]);
    }
  }
  red_a[tid] = m;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (tid < h) {
      red_a[tid] = max(red_a[tid], red_a[tid + h]);
    }
    workgroupBarrier();
  }
  let mx = red_a[0];
  workgroupBarrier();
  var se = 0.0;
  var sez = 0.0;
  if (live) {
    for (var i = tid; i < p.v; i += WG) {
      let e = exp(z[base + i] - mx);
      se = se + e;
      sez = fma(e, z[base + i] - mx, sez);
    }
  }
  red_a[tid] = se;
  red_b[tid] = sez;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (tid < h) {
      red_a[tid] = red_a[tid] + red_a[tid + h];
      red_b[tid] = red_b[tid] + red_b[tid + h];
    }
    workgroupBarrier();
  }
  if (!live) {
    return;
  }
  let log_s = log(red_a[0]);
  let lse = mx + log_s;
  // H = lse − Σ p z = log S − Σ p (z − max): both terms relative to the max, for range.
  let ent = log_s - red_b[0] / red_a[0];
  let y = targets[row];
  if (tid == 0u) {
    stats[2u * row] = z[base + y] - lse;
    stats[2u * row + 1u] = ent;
  }
  let g_lp = dlp[row];
  let g_h = dh[row];
  for (var i = tid; i < p.v; i += WG) {
    let logp = z[base + i] - lse;
    let pr = exp(logp);
    var g = -g_lp * pr - g_h * pr * (logp + ent);
    if (i == y) {
      g = g + g_lp;
    }
    dz[base + i] = g;
  }
}
