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

// matmul_backward_gemm_rt: the same GEMM with register tiling — a workgroup of TILE×TILE threads
// computes a (TILE·RT)×(TILE·RT) block, each thread RT×RT outputs, K staged through workgroup
// memory TILE at a time. Each output is still one fma chain over k ascending, so its bits equal
// matmul_backward_gemm's (tested). Dispatch: (ceil(N / (TILE·RT)), ceil(M / (TILE·RT)), 1).

override RT: u32 = 4u;

var<workgroup> sa: array<f32, TILE * TILE * RT>; // [k][m] of the block
var<workgroup> sb: array<f32, TILE * TILE * RT>; // [k][n]

@compute @workgroup_size(TILE, TILE)
fn matmul_backward_gemm_rt(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let bm = TILE * RT;
  let m0 = wg.y * bm;
  let n0 = wg.x * bm;
  var acc: array<f32, 16>; // RT·RT ≤ 16
  for (var i = 0u; i < RT * RT; i++) {
    acc[i] = 0.0;
  }
  let threads = TILE * TILE;
  let tiles = (p.k + TILE - 1u) / TILE;
  for (var tk = 0u; tk < tiles; tk++) {
    let k0 = tk * TILE;
    for (var l = 0u; l < RT; l++) {
      let idx = l * threads + tid;
      // A block: TILE·RT rows × TILE k.
      let am = idx / TILE;
      let ak = idx % TILE;
      var va = 0.0;
      if (m0 + am < p.m && k0 + ak < p.k) {
        va = a[(m0 + am) * p.a_sm + (k0 + ak) * p.a_sk];
      }
      sa[ak * bm + am] = va;
      // B block: TILE k × TILE·RT columns.
      let bk = idx / bm;
      let bn = idx % bm;
      var vb = 0.0;
      if (k0 + bk < p.k && n0 + bn < p.n) {
        vb = b[(k0 + bk) * p.b_sk + (n0 + bn) * p.b_sn];
      }
      sb[bk * bm + bn] = vb;
    }
    workgroupBarrier();
    let kmax = min(TILE, p.k - k0);
    for (var kk = 0u; kk < kmax; kk++) {
      var ra: array<f32, 4>;
      var rb: array<f32, 4>;
      for (var i = 0u; i < RT; i++) {
        ra[i] = sa[kk * bm + lid.y * RT + i];
        rb[i] = sb[kk * bm + lid.x * RT + i];
      }
      for (var i = 0u; i < RT; i++) {
        for (var j = 0u; j < RT; j++) {
          acc[i * RT + j] = fma(ra[i], rb[j], acc[i * RT + j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < RT; i++) {
    let row = m0 + lid.y * RT + i;
    if (row >= p.m) {
      continue;
    }
    for (var j = 0u; j < RT; j++) {
      let col = n0 + lid.x * RT + j;
      if (col < p.n) {
        let o = row * p.n + col;
        if (p.beta != 0.0) {
          c[o] = c[o] * p.beta + acc[i * RT + j];
        } else {
          c[o] = acc[i * RT + j];
        }
      }
    }
  }
}
