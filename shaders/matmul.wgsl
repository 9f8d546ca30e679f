// matmul: y[m, yc + n] = (acc ? y[m, yc + n] : 0) + (x[xo + m, :] · w[n, :]) + (bias ? b[bo + n] : 0)
//
// Shapes (row-major): x [M, K] f32 (rows from run.x_row_offset), w [N, K] WT (one chunk of a
// Hugging Face [out, in] weight), b f32, y [M, ld_y] f32. K must be a multiple of 4 (vec4 loads).
// Bindings: 0 run (uniform), 1 params (uniform), 2 x (read), 3 w (read), 4 b (read),
// 5 y (read_write; read only when FLAG_ACCUMULATE, i.e. a residual add).
// Dispatch: (ceil(N / BM_N), ceil(M / BM_M)) workgroups of THREADS = (BM_M / TM) * (BM_N / TN).
// The host prepends the tile constants BM_M, BM_N, BK, TM, TN (TM, TN multiples of 4) and the
// weight element type WT (f32, or f16 with `enable f16`), all chosen once per device.
//
// Determinism: each output is one thread's sequential fma chain over k = 0, 1, ..., K-1 (tiles in
// ascending order, ascending inside a tile), so its bits depend only on its own row of x and row of
// w — not on M, on the tile sizes, or on which other rows share the dispatch. This makes the
// forward batch-invariant and lets decode (M = batch) reproduce the proof forward bit for bit.
// Zero-filled tails add fma(0, 0, acc) = acc. No atomics.

struct Run {
  rows: u32,
  x_row_offset: u32,
  _pad0: u32,
  _pad1: u32,
}

struct Params {
  n: u32,
  k: u32,
  ld_y: u32,
  y_col_offset: u32,
  bias_offset: u32,
  flags: u32,
  _pad0: u32,
  _pad1: u32,
}

const FLAG_BIAS: u32 = 1u;
const FLAG_ACCUMULATE: u32 = 2u;

@group(0) @binding(0) var<uniform> run: Run;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<vec4<WT>>;
@group(0) @binding(4) var<storage, read> b: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

const RM: u32 = TM / 4u;
const RN: u32 = TN / 4u;
const THREADS_N: u32 = BM_N / TN;
const THREADS_M: u32 = BM_M / TM;
const THREADS: u32 = THREADS_N * THREADS_M;
const KQ: u32 = BK / 4u;

// Tiles are stored k-major so that a thread reads its TM rows (TN columns) as vec4s.
var<workgroup> x_tile: array<vec4<f32>, BK * BM_M / 4u>;
var<workgroup> w_tile: array<vec4<f32>, BK * BM_N / 4u>;

@compute @workgroup_size(THREADS)
fn matmul_tiled(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let m0 = wg.y * BM_M;
  let n0 = wg.x * BM_N;
  let tn = tid % THREADS_N;
  let tm = tid / THREADS_N;
  let k4 = p.k / 4u;
  var acc: array<vec4<f32>, TM * RN>;
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    // Each item moves a 4-row by 4-k block, transposed in registers, so stores are vec4 too.
    for (var item = tid; item < (BM_M / 4u) * KQ; item += THREADS) {
      let mq = item / KQ;
      let kq = item % KQ;
      let gk = k0 / 4u + kq;
      var v: array<vec4<f32>, 4>;
      for (var e = 0u; e < 4u; e++) {
        let gm = m0 + mq * 4u + e;
        if (gm < run.rows && gk < k4) {
          v[e] = x[(run.x_row_offset + gm) * k4 + gk];
        } else {
          v[e] = vec4<f32>(0.0);
        }
      }
      for (var c = 0u; c < 4u; c++) {
        x_tile[(kq * 4u + c) * (BM_M / 4u) + mq] = vec4<f32>(v[0][c], v[1][c], v[2][c], v[3][c]);
      }
    }
    for (var item = tid; item < (BM_N / 4u) * KQ; item += THREADS) {
      let nq = item / KQ;
      let kq = item % KQ;
      let gk = k0 / 4u + kq;
      var v: array<vec4<f32>, 4>;
      for (var e = 0u; e < 4u; e++) {
        let gn = n0 + nq * 4u + e;
        if (gn < p.n && gk < k4) {
          v[e] = vec4<f32>(w[gn * k4 + gk]);
        } else {
          v[e] = vec4<f32>(0.0);
        }
      }
      for (var c = 0u; c < 4u; c++) {
        w_tile[(kq * 4u + c) * (BM_N / 4u) + nq] = vec4<f32>(v[0][c], v[1][c], v[2][c], v[3][c]);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<vec4<f32>, RM>;
      var bv: array<vec4<f32>, RN>;
      for (var r = 0u; r < RM; r++) {
        a[r] = x_tile[kk * (BM_M / 4u) + tm + r * THREADS_M];
      }
      for (var c = 0u; c < RN; c++) {
        bv[c] = w_tile[kk * (BM_N / 4u) + tn + c * THREADS_N];
      }
      for (var r = 0u; r < RM; r++) {
        for (var e = 0u; e < 4u; e++) {
          let av = vec4<f32>(a[r][e]);
          for (var c = 0u; c < RN; c++) {
            let i = (r * 4u + e) * RN + c;
            acc[i] = fma(av, bv[c], acc[i]);
          }
        }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < RM; r++) {
    for (var e = 0u; e < 4u; e++) {
      let gm = m0 + (tm + r * THREADS_M) * 4u + e;
      if (gm >= run.rows) {
        continue;
      }
      for (var c = 0u; c < RN; c++) {
        let acc4 = acc[(r * 4u + e) * RN + c];
        for (var q = 0u; q < 4u; q++) {
          let gn = n0 + (tn + c * THREADS_N) * 4u + q;
          if (gn >= p.n) {
            continue;
          }
          var v = acc4[q];
          if ((p.flags & FLAG_BIAS) != 0u) {
            v = v + b[p.bias_offset + gn];
          }
          let at = gm * p.ld_y + p.y_col_offset + gn;
          if ((p.flags & FLAG_ACCUMULATE) != 0u) {
            v = y[at] + v;
          }
          y[at] = v;
        }
      }
    }
  }
}
