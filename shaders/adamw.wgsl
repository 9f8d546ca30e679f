// AdamW step (torch.optim.AdamW order) with the global-norm clip folded in as a gradient scale:
//   g = grad·clip;  θ ← θ·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
//   θ ← θ − (lr / bc1)·m / (sqrt(v) / sqrt(bc2) + eps)
// and the partial sums of squares of the clipping norm (adamw_sumsq: one partial per CHUNK
// elements; the host adds the partials in order in float64).
//
// Shapes: param, grad, m, v [n] f32 (param/m/v read_write, grad read); partials [ceil(n / CHUNK)]
// f32 (read_write).
// Bindings: 0 params (uniform), 1 param, 2 grad, 3 m, 4 v, 5 partials.
// Dispatch: _step: (min(ceil(n / WG), 65535), ceil(ceil(n / WG) / 65535), 1); _sumsq: (ceil(n / CHUNK), 1, 1) workgroups of WG threads
// (WG a power of two, CHUNK = WG·PER_THREAD).
//
// Determinism: the step is elementwise; each partial is thread-strided sequential sums inside its
// chunk then a fixed tree; no atomics.

struct Params {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  bc1: f32,
  bc2_sqrt: f32,
  clip: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WG: u32 = 256u;
override PER_THREAD: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn adamw_step(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  // 2-D grid: a large tensor needs more than 65535 workgroups in x.
  let i = (wg.y * nwg.x + wg.x) * WG + lid;
  if (i >= p.n) {
    return;
  }
  let g = grad[i] * p.clip;
  var x = param[i] * (1.0 - p.lr * p.weight_decay);
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  x = x - (p.lr / p.bc1) * mi / (sqrt(vi) / p.bc2_sqrt + p.eps);
  param[i] = x;
}

@compute @workgroup_size(WG)
fn adamw_sumsq(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let chunk = WG * PER_THREAD;
  let base = wg.x * chunk;
  var s = 0.0;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG + tid;
    if (i < p.n) {
      s = fma(grad[i], grad[i], s);
    }
  }
  red[tid] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (tid < h) {
      red[tid] = red[tid] + red[tid + h];
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    partials[wg.x] = red[0];
  }
}
