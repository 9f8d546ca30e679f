// matmul backward as one strided GEMM: c[m, n] = beta·c[m, n] + Σ_k a(m, k)·b(k, n), with
//   a(m, k) = a[m·a_sm + k·a_sk] and b(k, n) = b[k·b_sk + n·b_sn], which covers both gradients of
//   y[T, OC] = x[T, IC]·w[OC, IC]ᵀ:  dx = dy·w (m = t, n = i, k = o) and
//   dw += dyᵀ·x (m = o, n = i, k = t, beta = 1 to accumulate micro-batches); plus the bias
//   gradient db[o] += Σ_t dy[t, o] (matmul_backward_bias). The forward y = x·wᵀ is the same GEMM
//   (m = t, n = o, k = i, b(k, n) = w[n·IC + k]), plus matmul_add_bias: c[t, o] += a[o].
//
// Shapes: a, b f32 (read) with the strides above; c [M, N] f32 row-major (read_write).
// Bindings: 0 params (uniform), 1 a, 2 b, 3 c.
// Dispatch: gemm: (ceil(N / TILE), ceil(M / TILE), 1) workgroups of TILE×TILE threads;
//   bias: (ceil(N / (TILE·TILE)), 1, 1) with a = dy, M = rows T, N = OC.
//
// Determinism: each output is one f32 fma chain over k ascending (tiles ascending, ascending
// inside a tile); no atomics; the order depends only on K, never on the launch geometry.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  beta: f32,
  a_sm: u32,
  a_sk: u32,
  b_sk: u32,
  b_sn: u32,
}

override TILE: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

var<workgroup> ta: array<f32, TILE * TILE>;
var<workgroup> tb: array<f32, TILE * TILE>;

@compute @workgroup_size(TILE, TILE)
fn matmul_backward_gemm(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = wg.y * TILE + lid.y; // m
  let col = wg.x * TILE + lid.x; // n
  var acc = 0.0;
  let tiles = (p.k + TILE - 1u) / TILE;
  for (var tk = 0u; tk < tiles; tk++) {
    let ka = tk * TILE + lid.x;
    var va = 0.0;
    if (row < p.m && ka < p.k) {
      va = a[row * p.a_sm + ka * p.a_sk];
    }
    ta[lid.y * TILE + lid.x] = va;
    let kb = tk * TILE + lid.y;
    var vb = 0.0;
    if (col < p.n && kb < p.k) {
      vb = b[kb * p.b_sk + col * p.b_sn];
    }
    tb[lid.y * TILE + lid.x] = vb;
    workgroupBarrier();
    let kmax = min(TILE, p.k - tk * TILE);
    for (var kk = 0u; kk < kmax; kk++) {
      acc = fma(ta[lid.y * TILE + kk], tb[kk * TILE + lid.x], acc);
    }
    workgroupBarrier();
  }
  if (row < p.m && col < p.n) {
    let o = row * p.n + col;
    if (p.beta != 0.0) {
      c[o] = c[o] * p.beta + acc;
    } else {
      c[o] = acc;
    }
  }
}

@compute @workgroup_size(TILE * TILE)
fn matmul_backward_bias(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  if (col >= p.n) {
    return;
  }
  var acc = 0.0;
  for (var t = 0u; t < p.m; t++) {
    acc = acc + a[t * p.n + col];
  }
  c[col] = c[col] * p.beta + acc;
}

@compute @workgroup_size(TILE * TILE)
fn matmul_add_bias(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x;
  if (idx >= p.m * p.n) {
    return;
  }
  c[idx] = c[idx] + a[idx % p.n];
}
