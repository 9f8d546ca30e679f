// matmul: y[m, yc + n] = (acc ? y[m, yc + n] : 0) + (x[xo + m, :] · w[n, :]) + (bias ? b[bo + n] : 0)
//
// Shapes (row-major): x [M, K] f32 (rows from run.x_row_offset), w [N, K] WT (one chunk of a
// Hugging Face [out, in] weight), b f32, y [M, ld_y] f32. K must be a multiple of 4 (vec4 loads).
// Bindings: 0 run (uniform), 1 params (uniform), 2 x (read), 3 w (read), 4 b (read),
// 5 y (read_write; read only when FLAG_ACCUMULATE, i.e. a residual add).
// Dispatch: (ceil(N / BM_N), ceil(M / BM_M)) workgroups of THREADS = (BM_M / 8) * (BM_N / 8);
// each thread owns 8 rows × 8 columns (two vec4 row groups × two vec4 column groups), held in 16
// named vec4 registers — written out, because naga's loops are not unrolled by every driver and
// an indexed accumulator array lands in (slow) local memory.
// The host prepends BM_M, BM_N, BK (multiples of 32, 32 and 4), the weight element type WT, the
// compute type CT and SPLIT, all chosen once per device:
//   f32 path: WT = CT = f32, SPLIT = false — the canonical kernel.
//   f16 path (only with `shader-f16`): WT = CT = f16, SPLIT = true — products and the sum of one
//   BK-long k tile in f16 (packed half fma), each tile's partial added into an f32 accumulator.
//
// Determinism: f32 path — each output is one thread's sequential fma chain over k = 0, 1, ..., K-1
// (tiles in ascending order, ascending inside a tile), so its bits depend only on its own row of x
// and row of w — not on M, on the tile sizes, or on which other rows share the dispatch. This
// makes the forward batch-invariant and lets decode (M = batch) reproduce the proof forward bit for
// bit. f16 path: the same, per k tile, with the tile partials summed in ascending order (its bits
// depend on BK, fixed per device). Zero-filled tails add fma(0, 0, acc) = acc. No atomics.
//
// Entry points (each bit-identical to matmul_tiled, except matmul_rows and matmul_rows_quad in
// f16, which are opt-in; the host picks per dtype). Their speed on NVIDIA hangs on code the
// driver might be expected to drop, so each is kept as the text that was measured; H200, 0.5B
// shape, GPU ms of one gate_up [16384 × 896] · [9728 × 896]ᵀ (bench/matmul_kernels.ts,
// 2026-11-25 23:52 UTC):
//   1. matmul_tiled: load a k tile, barrier, products, barrier (8 × 8 outputs per thread in named
//      registers) — the 21:05 kernel, verbatim. The f16 default: 7.8 ms (36.5 TFLOP/s). f32:
//      12.8 ms.
//   2. matmul_tiled_prefetch: with PREFETCH the next tile's global loads are in flight (in
//      registers) during this tile's products — the 22:02 function, verbatim, dead `else` branch
//      included. The f32 default: 10.8 ms (26.6 TFLOP/s). f16 through it: 11.4 ms with PREFETCH,
//      11.3 ms without — the latter is what the f16 path ran from 22:02 until now, the regression
//      (f16 matmuls 669 ms instead of 454 per forward). A rewrite without the dead branch and with
//      this file's other epilogue ran f32 at 12.7 ms, so the bodies stay as they are.
//   Tried and dropped (same bits, slower): 8 × 16 outputs per thread with half the threads (f16
//   8.4 ms, f32 14.7 ms); BK = 64 for f16 (10.5 ms; it also changes the f16 bits).
//   3. Decode, at most 16 rows (see each below; the host picks per dtype and weight width):
//      matmul_rows (one thread per output; f32 default), matmul_rows_quad (4 rows per thread;
//      f32 default for wide weights), matmul_rows_packed (f16 default), matmul_rows_column (the
//      d0f6bf5 kernel; f16 default for wide weights). H200, 0.5B down_proj [16 × 4864] ·
//      [896 × 4864]ᵀ: f32 0.706 → 0.047 ms, f16 0.831 → 0.491 ms (bench/matmul_kernels.ts).

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

const THREADS_N: u32 = BM_N / 8u;
const THREADS_M: u32 = BM_M / 8u;
const THREADS: u32 = THREADS_N * THREADS_M;
const KQ: u32 = BK / 4u;

// Tiles are stored k-major so that a thread reads its rows (columns) as vec4s.
var<workgroup> x_tile: array<vec4<CT>, BK * BM_M / 4u>;
var<workgroup> w_tile: array<vec4<CT>, BK * BM_N / 4u>;

fn load_x(gm: u32, gk: u32, k4: u32) -> vec4<f32> {
  if (gm < run.rows && gk < k4) {
    return x[(run.x_row_offset + gm) * k4 + gk];
  }
  return vec4<f32>(0.0);
}

fn load_w(gn: u32, gk: u32, k4: u32) -> vec4<f32> {
  if (gn < p.n && gk < k4) {
    return vec4<f32>(w[gn * k4 + gk]);
  }
  return vec4<f32>(0.0);
}

// Tile loading: an item is a 4-row by 4-k block of x (items [0, ITEMS_X)) or of w (the rest),
// transposed in registers so that the stores into the k-major tiles are vec4 too.
const ITEMS_X: u32 = (BM_M / 4u) * KQ;
const ITEMS: u32 = ITEMS_X + (BM_N / 4u) * KQ;
// Items per thread per tile (the host keeps it at most 4: f0 .. f3 below).
const ITEMS_PT: u32 = (ITEMS + THREADS - 1u) / THREADS;

struct Quad {
  r0: vec4<CT>,
  r1: vec4<CT>,
  r2: vec4<CT>,
  r3: vec4<CT>,
}

// Item `item` of the k tile starting at k0, read from x or w (zeros past the edges).
fn fetch(item: u32, k0: u32, m0: u32, n0: u32, k4: u32) -> Quad {
  var v0 = vec4<f32>(0.0);
  var v1 = vec4<f32>(0.0);
  var v2 = vec4<f32>(0.0);
  var v3 = vec4<f32>(0.0);
  if (item < ITEMS_X) {
    let gk = k0 / 4u + item % KQ;
    let gm = m0 + (item / KQ) * 4u;
    v0 = load_x(gm, gk, k4);
    v1 = load_x(gm + 1u, gk, k4);
    v2 = load_x(gm + 2u, gk, k4);
    v3 = load_x(gm + 3u, gk, k4);
  } else if (item < ITEMS) {
    let i = item - ITEMS_X;
    let gk = k0 / 4u + i % KQ;
    let gn = n0 + (i / KQ) * 4u;
    v0 = load_w(gn, gk, k4);
    v1 = load_w(gn + 1u, gk, k4);
    v2 = load_w(gn + 2u, gk, k4);
    v3 = load_w(gn + 3u, gk, k4);
  }
  return Quad(
    vec4<CT>(vec4<f32>(v0.x, v1.x, v2.x, v3.x)),
    vec4<CT>(vec4<f32>(v0.y, v1.y, v2.y, v3.y)),
    vec4<CT>(vec4<f32>(v0.z, v1.z, v2.z, v3.z)),
    vec4<CT>(vec4<f32>(v0.w, v1.w, v2.w, v3.w)),
  );
}

// Stores a fetched item into the k-major tiles.
fn put(item: u32, q: Quad) {
  if (item < ITEMS_X) {
    let at = (item % KQ) * 4u * (BM_M / 4u) + item / KQ;
    x_tile[at] = q.r0;
    x_tile[at + BM_M / 4u] = q.r1;
    x_tile[at + 2u * (BM_M / 4u)] = q.r2;
    x_tile[at + 3u * (BM_M / 4u)] = q.r3;
  } else if (item < ITEMS) {
    let i = item - ITEMS_X;
    let at = (i % KQ) * 4u * (BM_N / 4u) + i / KQ;
    w_tile[at] = q.r0;
    w_tile[at + BM_N / 4u] = q.r1;
    w_tile[at + 2u * (BM_N / 4u)] = q.r2;
    w_tile[at + 3u * (BM_N / 4u)] = q.r3;
  }
}

fn store(gm: u32, gn: u32, v: vec4<f32>) {
  if (gm >= run.rows) {
    return;
  }
  for (var q = 0u; q < 4u; q++) {
    let n = gn + q;
    if (n < p.n) {
      var o = v[q];
      if ((p.flags & FLAG_BIAS) != 0u) {
        o = o + b[p.bias_offset + n];
      }
      let at = gm * p.ld_y + p.y_col_offset + n;
      if ((p.flags & FLAG_ACCUMULATE) != 0u) {
        o = y[at] + o;
      }
      y[at] = o;
    }
  }
}

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
  var c0_0 = vec4<CT>(0.0);
  var c0_1 = vec4<CT>(0.0);
  var c1_0 = vec4<CT>(0.0);
  var c1_1 = vec4<CT>(0.0);
  var c2_0 = vec4<CT>(0.0);
  var c2_1 = vec4<CT>(0.0);
  var c3_0 = vec4<CT>(0.0);
  var c3_1 = vec4<CT>(0.0);
  var c4_0 = vec4<CT>(0.0);
  var c4_1 = vec4<CT>(0.0);
  var c5_0 = vec4<CT>(0.0);
  var c5_1 = vec4<CT>(0.0);
  var c6_0 = vec4<CT>(0.0);
  var c6_1 = vec4<CT>(0.0);
  var c7_0 = vec4<CT>(0.0);
  var c7_1 = vec4<CT>(0.0);
  var s0_0 = vec4<f32>(0.0);
  var s0_1 = vec4<f32>(0.0);
  var s1_0 = vec4<f32>(0.0);
  var s1_1 = vec4<f32>(0.0);
  var s2_0 = vec4<f32>(0.0);
  var s2_1 = vec4<f32>(0.0);
  var s3_0 = vec4<f32>(0.0);
  var s3_1 = vec4<f32>(0.0);
  var s4_0 = vec4<f32>(0.0);
  var s4_1 = vec4<f32>(0.0);
  var s5_0 = vec4<f32>(0.0);
  var s5_1 = vec4<f32>(0.0);
  var s6_0 = vec4<f32>(0.0);
  var s6_1 = vec4<f32>(0.0);
  var s7_0 = vec4<f32>(0.0);
  var s7_1 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    // Each item moves a 4-row by 4-k block, transposed in registers, so stores are vec4 too.
    for (var item = tid; item < (BM_M / 4u) * KQ; item += THREADS) {
      let mq = item / KQ;
      let kq = item % KQ;
      let gk = k0 / 4u + kq;
      let gm = m0 + mq * 4u;
      let v0 = load_x(gm, gk, k4);
      let v1 = load_x(gm + 1u, gk, k4);
      let v2 = load_x(gm + 2u, gk, k4);
      let v3 = load_x(gm + 3u, gk, k4);
      let at = kq * 4u * (BM_M / 4u) + mq;
      x_tile[at] = vec4<CT>(vec4<f32>(v0.x, v1.x, v2.x, v3.x));
      x_tile[at + BM_M / 4u] = vec4<CT>(vec4<f32>(v0.y, v1.y, v2.y, v3.y));
      x_tile[at + 2u * (BM_M / 4u)] = vec4<CT>(vec4<f32>(v0.z, v1.z, v2.z, v3.z));
      x_tile[at + 3u * (BM_M / 4u)] = vec4<CT>(vec4<f32>(v0.w, v1.w, v2.w, v3.w));
    }
    for (var item = tid; item < (BM_N / 4u) * KQ; item += THREADS) {
      let nq = item / KQ;
      let kq = item % KQ;
      let gk = k0 / 4u + kq;
      let gn = n0 + nq * 4u;
      let v0 = load_w(gn, gk, k4);
      let v1 = load_w(gn + 1u, gk, k4);
      let v2 = load_w(gn + 2u, gk, k4);
      let v3 = load_w(gn + 3u, gk, k4);
      let at = kq * 4u * (BM_N / 4u) + nq;
      w_tile[at] = vec4<CT>(vec4<f32>(v0.x, v1.x, v2.x, v3.x));
      w_tile[at + BM_N / 4u] = vec4<CT>(vec4<f32>(v0.y, v1.y, v2.y, v3.y));
      w_tile[at + 2u * (BM_N / 4u)] = vec4<CT>(vec4<f32>(v0.z, v1.z, v2.z, v3.z));
      w_tile[at + 3u * (BM_N / 4u)] = vec4<CT>(vec4<f32>(v0.w, v1.w, v2.w, v3.w));
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a0 = x_tile[kk * (BM_M / 4u) + tm];
      let a1 = x_tile[kk * (BM_M / 4u) + tm + THREADS_M];
      let b0 = w_tile[kk * (BM_N / 4u) + tn];
      let b1 = w_tile[kk * (BM_N / 4u) + tn + THREADS_N];
      c0_0 = fma(vec4<CT>(a0.x), b0, c0_0);
      c0_1 = fma(vec4<CT>(a0.x), b1, c0_1);
      c1_0 = fma(vec4<CT>(a0.y), b0, c1_0);
      c1_1 = fma(vec4<CT>(a0.y), b1, c1_1);
      c2_0 = fma(vec4<CT>(a0.z), b0, c2_0);
      c2_1 = fma(vec4<CT>(a0.z), b1, c2_1);
      c3_0 = fma(vec4<CT>(a0.w), b0, c3_0);
      c3_1 = fma(vec4<CT>(a0.w), b1, c3_1);
      c4_0 = fma(vec4<CT>(a1.x), b0, c4_0);
      c4_1 = fma(vec4<CT>(a1.x), b1, c4_1);
      c5_0 = fma(vec4<CT>(a1.y), b0, c5_0);
      c5_1 = fma(vec4<CT>(a1.y), b1, c5_1);
      c6_0 = fma(vec4<CT>(a1.z), b0, c6_0);
      c6_1 = fma(vec4<CT>(a1.z), b1, c6_1);
      c7_0 = fma(vec4<CT>(a1.w), b0, c7_0);
      c7_1 = fma(vec4<CT>(a1.w), b1, c7_1);
    }
    if (SPLIT) {
      s0_0 = s0_0 + vec4<f32>(c0_0);
      c0_0 = vec4<CT>(0.0);
      s0_1 = s0_1 + vec4<f32>(c0_1);
      c0_1 = vec4<CT>(0.0);
      s1_0 = s1_0 + vec4<f32>(c1_0);
      c1_0 = vec4<CT>(0.0);
      s1_1 = s1_1 + vec4<f32>(c1_1);
      c1_1 = vec4<CT>(0.0);
      s2_0 = s2_0 + vec4<f32>(c2_0);
      c2_0 = vec4<CT>(0.0);
      s2_1 = s2_1 + vec4<f32>(c2_1);
      c2_1 = vec4<CT>(0.0);
      s3_0 = s3_0 + vec4<f32>(c3_0);
      c3_0 = vec4<CT>(0.0);
      s3_1 = s3_1 + vec4<f32>(c3_1);
      c3_1 = vec4<CT>(0.0);
      s4_0 = s4_0 + vec4<f32>(c4_0);
      c4_0 = vec4<CT>(0.0);
      s4_1 = s4_1 + vec4<f32>(c4_1);
      c4_1 = vec4<CT>(0.0);
      s5_0 = s5_0 + vec4<f32>(c5_0);
      c5_0 = vec4<CT>(0.0);
      s5_1 = s5_1 + vec4<f32>(c5_1);
      c5_1 = vec4<CT>(0.0);
      s6_0 = s6_0 + vec4<f32>(c6_0);
      c6_0 = vec4<CT>(0.0);
      s6_1 = s6_1 + vec4<f32>(c6_1);
      c6_1 = vec4<CT>(0.0);
      s7_0 = s7_0 + vec4<f32>(c7_0);
      c7_0 = vec4<CT>(0.0);
      s7_1 = s7_1 + vec4<f32>(c7_1);
      c7_1 = vec4<CT>(0.0);
    }
    workgroupBarrier();
  }
  store(m0 + (tm + 0u * THREADS_M) * 4u + 0u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c0_0), s0_0, SPLIT));
  store(m0 + (tm + 0u * THREADS_M) * 4u + 0u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c0_1), s0_1, SPLIT));
  store(m0 + (tm + 0u * THREADS_M) * 4u + 1u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c1_0), s1_0, SPLIT));
  store(m0 + (tm + 0u * THREADS_M) * 4u + 1u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c1_1), s1_1, SPLIT));
  store(m0 + (tm + 0u * THREADS_M) * 4u + 2u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c2_0), s2_0, SPLIT));
  store(m0 + (tm + 0u * THREADS_M) * 4u + 2u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c2_1), s2_1, SPLIT));
  store(m0 + (tm + 0u * THREADS_M) * 4u + 3u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c3_0), s3_0, SPLIT));
  store(m0 + (tm + 0u * THREADS_M) * 4u + 3u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c3_1), s3_1, SPLIT));
  store(m0 + (tm + 1u * THREADS_M) * 4u + 0u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c4_0), s4_0, SPLIT));
  store(m0 + (tm + 1u * THREADS_M) * 4u + 0u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c4_1), s4_1, SPLIT));
  store(m0 + (tm + 1u * THREADS_M) * 4u + 1u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c5_0), s5_0, SPLIT));
  store(m0 + (tm + 1u * THREADS_M) * 4u + 1u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c5_1), s5_1, SPLIT));
  store(m0 + (tm + 1u * THREADS_M) * 4u + 2u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c6_0), s6_0, SPLIT));
  store(m0 + (tm + 1u * THREADS_M) * 4u + 2u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c6_1), s6_1, SPLIT));
  store(m0 + (tm + 1u * THREADS_M) * 4u + 3u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c7_0), s7_0, SPLIT));
  store(m0 + (tm + 1u * THREADS_M) * 4u + 3u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c7_1), s7_1, SPLIT));
}

@compute @workgroup_size(THREADS)
fn matmul_tiled_prefetch(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let m0 = wg.y * BM_M;
  let n0 = wg.x * BM_N;
  let tn = tid % THREADS_N;
  let tm = tid / THREADS_N;
  let k4 = p.k / 4u;
  var c0_0 = vec4<CT>(0.0);
  var c0_1 = vec4<CT>(0.0);
  var c1_0 = vec4<CT>(0.0);
  var c1_1 = vec4<CT>(0.0);
  var c2_0 = vec4<CT>(0.0);
  var c2_1 = vec4<CT>(0.0);
  var c3_0 = vec4<CT>(0.0);
  var c3_1 = vec4<CT>(0.0);
  var c4_0 = vec4<CT>(0.0);
  var c4_1 = vec4<CT>(0.0);
  var c5_0 = vec4<CT>(0.0);
  var c5_1 = vec4<CT>(0.0);
  var c6_0 = vec4<CT>(0.0);
  var c6_1 = vec4<CT>(0.0);
  var c7_0 = vec4<CT>(0.0);
  var c7_1 = vec4<CT>(0.0);
  var s0_0 = vec4<f32>(0.0);
  var s0_1 = vec4<f32>(0.0);
  var s1_0 = vec4<f32>(0.0);
  var s1_1 = vec4<f32>(0.0);
  var s2_0 = vec4<f32>(0.0);
  var s2_1 = vec4<f32>(0.0);
  var s3_0 = vec4<f32>(0.0);
  var s3_1 = vec4<f32>(0.0);
  var s4_0 = vec4<f32>(0.0);
  var s4_1 = vec4<f32>(0.0);
  var s5_0 = vec4<f32>(0.0);
  var s5_1 = vec4<f32>(0.0);
  var s6_0 = vec4<f32>(0.0);
  var s6_1 = vec4<f32>(0.0);
  var s7_0 = vec4<f32>(0.0);
  var s7_1 = vec4<f32>(0.0);
  // With PREFETCH the next k tile's global loads are issued before this tile's products, so
  // their latency hides behind the arithmetic (at the cost of 4 × 4 registers per item); without
  // it each tile is loaded and stored right before its products. The values, and so the bits,
  // are the same either way. The host always sets PREFETCH here (f16 uses matmul_tiled); the
  // `else` branch stays because removing it slowed the f32 kernel (see the header).
  var f0: Quad;
  var f1: Quad;
  var f2: Quad;
  var f3: Quad;
  if (PREFETCH) {
    f0 = fetch(tid, 0u, m0, n0, k4);
    if (ITEMS_PT > 1u) {
      f1 = fetch(tid + THREADS, 0u, m0, n0, k4);
    }
    if (ITEMS_PT > 2u) {
      f2 = fetch(tid + 2u * THREADS, 0u, m0, n0, k4);
      f3 = fetch(tid + 3u * THREADS, 0u, m0, n0, k4);
    }
  }
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    if (PREFETCH) {
      put(tid, f0);
      if (ITEMS_PT > 1u) {
        put(tid + THREADS, f1);
      }
      if (ITEMS_PT > 2u) {
        put(tid + 2u * THREADS, f2);
        put(tid + 3u * THREADS, f3);
      }
    } else {
      // Each item moves a 4-row by 4-k block, transposed in registers, so stores are vec4 too.
      for (var item = tid; item < (BM_M / 4u) * KQ; item += THREADS) {
        let mq = item / KQ;
        let kq = item % KQ;
        let gk = k0 / 4u + kq;
        let gm = m0 + mq * 4u;
        let v0 = load_x(gm, gk, k4);
        let v1 = load_x(gm + 1u, gk, k4);
        let v2 = load_x(gm + 2u, gk, k4);
        let v3 = load_x(gm + 3u, gk, k4);
        let at = kq * 4u * (BM_M / 4u) + mq;
        x_tile[at] = vec4<CT>(vec4<f32>(v0.x, v1.x, v2.x, v3.x));
        x_tile[at + BM_M / 4u] = vec4<CT>(vec4<f32>(v0.y, v1.y, v2.y, v3.y));
        x_tile[at + 2u * (BM_M / 4u)] = vec4<CT>(vec4<f32>(v0.z, v1.z, v2.z, v3.z));
        x_tile[at + 3u * (BM_M / 4u)] = vec4<CT>(vec4<f32>(v0.w, v1.w, v2.w, v3.w));
      }
      for (var item = tid; item < (BM_N / 4u) * KQ; item += THREADS) {
        let nq = item / KQ;
        let kq = item % KQ;
        let gk = k0 / 4u + kq;
        let gn = n0 + nq * 4u;
        let v0 = load_w(gn, gk, k4);
        let v1 = load_w(gn + 1u, gk, k4);
        let v2 = load_w(gn + 2u, gk, k4);
        let v3 = load_w(gn + 3u, gk, k4);
        let at = kq * 4u * (BM_N / 4u) + nq;
        w_tile[at] = vec4<CT>(vec4<f32>(v0.x, v1.x, v2.x, v3.x));
        w_tile[at + BM_N / 4u] = vec4<CT>(vec4<f32>(v0.y, v1.y, v2.y, v3.y));
        w_tile[at + 2u * (BM_N / 4u)] = vec4<CT>(vec4<f32>(v0.z, v1.z, v2.z, v3.z));
        w_tile[at + 3u * (BM_N / 4u)] = vec4<CT>(vec4<f32>(v0.w, v1.w, v2.w, v3.w));
      }
    }
    workgroupBarrier();
    let next = k0 + BK;
    if (PREFETCH && next < p.k) {
      f0 = fetch(tid, next, m0, n0, k4);
      if (ITEMS_PT > 1u) {
        f1 = fetch(tid + THREADS, next, m0, n0, k4);
      }
      if (ITEMS_PT > 2u) {
        f2 = fetch(tid + 2u * THREADS, next, m0, n0, k4);
        f3 = fetch(tid + 3u * THREADS, next, m0, n0, k4);
      }
    }
    for (var kk = 0u; kk < BK; kk++) {
      let a0 = x_tile[kk * (BM_M / 4u) + tm];
      let a1 = x_tile[kk * (BM_M / 4u) + tm + THREADS_M];
      let b0 = w_tile[kk * (BM_N / 4u) + tn];
      let b1 = w_tile[kk * (BM_N / 4u) + tn + THREADS_N];
      c0_0 = fma(vec4<CT>(a0.x), b0, c0_0);
      c0_1 = fma(vec4<CT>(a0.x), b1, c0_1);
      c1_0 = fma(vec4<CT>(a0.y), b0, c1_0);
      c1_1 = fma(vec4<CT>(a0.y), b1, c1_1);
      c2_0 = fma(vec4<CT>(a0.z), b0, c2_0);
      c2_1 = fma(vec4<CT>(a0.z), b1, c2_1);
      c3_0 = fma(vec4<CT>(a0.w), b0, c3_0);
      c3_1 = fma(vec4<CT>(a0.w), b1, c3_1);
      c4_0 = fma(vec4<CT>(a1.x), b0, c4_0);
      c4_1 = fma(vec4<CT>(a1.x), b1, c4_1);
      c5_0 = fma(vec4<CT>(a1.y), b0, c5_0);
      c5_1 = fma(vec4<CT>(a1.y), b1, c5_1);
      c6_0 = fma(vec4<CT>(a1.z), b0, c6_0);
      c6_1 = fma(vec4<CT>(a1.z), b1, c6_1);
      c7_0 = fma(vec4<CT>(a1.w), b0, c7_0);
      c7_1 = fma(vec4<CT>(a1.w), b1, c7_1);
    }
    if (SPLIT) {
      s0_0 = s0_0 + vec4<f32>(c0_0);
      c0_0 = vec4<CT>(0.0);
      s0_1 = s0_1 + vec4<f32>(c0_1);
      c0_1 = vec4<CT>(0.0);
      s1_0 = s1_0 + vec4<f32>(c1_0);
      c1_0 = vec4<CT>(0.0);
      s1_1 = s1_1 + vec4<f32>(c1_1);
      c1_1 = vec4<CT>(0.0);
      s2_0 = s2_0 + vec4<f32>(c2_0);
      c2_0 = vec4<CT>(0.0);
      s2_1 = s2_1 + vec4<f32>(c2_1);
      c2_1 = vec4<CT>(0.0);
      s3_0 = s3_0 + vec4<f32>(c3_0);
      c3_0 = vec4<CT>(0.0);
      s3_1 = s3_1 + vec4<f32>(c3_1);
      c3_1 = vec4<CT>(0.0);
      s4_0 = s4_0 + vec4<f32>(c4_0);
      c4_0 = vec4<CT>(0.0);
      s4_1 = s4_1 + vec4<f32>(c4_1);
      c4_1 = vec4<CT>(0.0);
      s5_0 = s5_0 + vec4<f32>(c5_0);
      c5_0 = vec4<CT>(0.0);
      s5_1 = s5_1 + vec4<f32>(c5_1);
      c5_1 = vec4<CT>(0.0);
      s6_0 = s6_0 + vec4<f32>(c6_0);
      c6_0 = vec4<CT>(0.0);
      s6_1 = s6_1 + vec4<f32>(c6_1);
      c6_1 = vec4<CT>(0.0);
      s7_0 = s7_0 + vec4<f32>(c7_0);
      c7_0 = vec4<CT>(0.0);
      s7_1 = s7_1 + vec4<f32>(c7_1);
      c7_1 = vec4<CT>(0.0);
    }
    workgroupBarrier();
  }
  store4(m0 + (tm + 0u * THREADS_M) * 4u + 0u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c0_0), s0_0, SPLIT));
  store4(m0 + (tm + 0u * THREADS_M) * 4u + 0u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c0_1), s0_1, SPLIT));
  store4(m0 + (tm + 0u * THREADS_M) * 4u + 1u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c1_0), s1_0, SPLIT));
  store4(m0 + (tm + 0u * THREADS_M) * 4u + 1u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c1_1), s1_1, SPLIT));
  store4(m0 + (tm + 0u * THREADS_M) * 4u + 2u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c2_0), s2_0, SPLIT));
  store4(m0 + (tm + 0u * THREADS_M) * 4u + 2u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c2_1), s2_1, SPLIT));
  store4(m0 + (tm + 0u * THREADS_M) * 4u + 3u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c3_0), s3_0, SPLIT));
  store4(m0 + (tm + 0u * THREADS_M) * 4u + 3u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c3_1), s3_1, SPLIT));
  store4(m0 + (tm + 1u * THREADS_M) * 4u + 0u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c4_0), s4_0, SPLIT));
  store4(m0 + (tm + 1u * THREADS_M) * 4u + 0u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c4_1), s4_1, SPLIT));
  store4(m0 + (tm + 1u * THREADS_M) * 4u + 1u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c5_0), s5_0, SPLIT));
  store4(m0 + (tm + 1u * THREADS_M) * 4u + 1u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c5_1), s5_1, SPLIT));
  store4(m0 + (tm + 1u * THREADS_M) * 4u + 2u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c6_0), s6_0, SPLIT));
  store4(m0 + (tm + 1u * THREADS_M) * 4u + 2u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c6_1), s6_1, SPLIT));
  store4(m0 + (tm + 1u * THREADS_M) * 4u + 3u, n0 + (tn + 0u * THREADS_N) * 4u, select(vec4<f32>(c7_0), s7_0, SPLIT));
  store4(m0 + (tm + 1u * THREADS_M) * 4u + 3u, n0 + (tn + 1u * THREADS_N) * 4u, select(vec4<f32>(c7_1), s7_1, SPLIT));
}

// Epilogue of one output: bias, then the residual (y + out), as in Hugging Face.
fn store1(gm: u32, n: u32, v: f32) {
  if (gm >= run.rows || n >= p.n) {
    return;
  }
  var o = v;
  if ((p.flags & FLAG_BIAS) != 0u) {
    o = o + b[p.bias_offset + n];
  }
  let at = gm * p.ld_y + p.y_col_offset + n;
  if ((p.flags & FLAG_ACCUMULATE) != 0u) {
    o = y[at] + o;
  }
  y[at] = o;
}

fn store4(gm: u32, gn: u32, v: vec4<f32>) {
  store1(gm, gn, v.x);
  store1(gm, gn + 1u, v.y);
  store1(gm, gn + 2u, v.z);
  store1(gm, gn + 3u, v.w);
}

// matmul_rows: the same products for at most ROWS_MAX rows (decode: one row per sequence), one
// thread per output (row, column) pair, so that a [16, K] · [N, K]ᵀ product spreads over 16 · N
// threads. A workgroup owns ROWS_BN columns and all ROWS_MAX rows; it walks K in ROWS_BK-long
// steps, staging x [ROWS_MAX, ROWS_BK] and w [ROWS_BN, ROWS_BK] in workgroup memory with
// coalesced vec4 loads, and issues the next step's global loads (into registers) before this
// step's fmas, so their latency hides behind the arithmetic. The fmas read 4 vec4 pairs, then
// chain 16 k, so the workgroup-memory reads are not waited on one at a time either.
// Each output is the chain matmul_tiled computes for it, in its order: f32 path, one fma chain
// over k = 0, 1, ..., K-1 (then the zero-filled tail of the last BK tile, as there); f16 path
// (SPLIT), the same chain in f16 restarted at every BK boundary, each BK tile's partial added in
// f32 in ascending order. ROWS_BK is only a staging size: the chain never restarts at its
// boundaries, so the bits are identical to matmul_tiled's (tested) for any ROWS_BN and ROWS_BK.
// Splitting K across threads cannot keep the f32 bits: a partial restarted from 0 and added
// later rounds differently from the continued chain.
// The host prepends ROWS_BN, ROWS_BK and ROWS_RPT (rows per thread: 1 for matmul_rows, 4 for
// matmul_rows_quad), chosen so that each thread stages 1, 2 or 4 x vec4s (ROWS_X_PT) and 1, 2
// (matmul_rows) or 4 (matmul_rows_quad) w vec4s (ROWS_W_PT) per step.
// Dispatch: (ceil(N / ROWS_BN), 1) workgroups of ROWS_THREADS threads.
//
// matmul_rows_quad: the same staging, but each thread holds 4 rows of one column in a vec4<CT>
// and multiplies them by the splatted weight; fewer threads, fewer x loads per fma, so the better
// choice for wide products (gate_up, lm_head). f32: bit-identical to matmul_tiled (tested).
// f16: NOT bit-identical on the H200 (Vulkan): neither matmul_rows (one scalar f16 fma per
// output) nor matmul_rows_quad reproduced matmul_tiled's f16 bits (≈ 99 % of outputs differ, by
// ≤ 1.6e-4 on the 0.5B shape), while matmul_rows_packed — this geometry with
// matmul_rows_column's conversions — does. So the difference lies in converting whole loaded
// vec4<f32> rows to f16 (here) instead of vectors assembled from 4 rows or single elements
// (there); how the driver compiles the two was not examined. For f16 both are opt-in.
const ROWS_MAX: u32 = 16u;
const ROWS_THREADS: u32 = (ROWS_MAX / ROWS_RPT) * ROWS_BN;
const ROWS_KQ: u32 = ROWS_BK / 4u;
// Row stride of the staged tiles in vec4s: one vec4 of padding, so that the 8 lanes of a
// 128-byte shared-memory access (8 columns of w, or 8 rows of x) hit distinct banks.
const ROWS_LD: u32 = ROWS_KQ + 1u;
const ROWS_X_PT: u32 = ROWS_MAX * ROWS_KQ / ROWS_THREADS;
const ROWS_W_PT: u32 = ROWS_BN * ROWS_KQ / ROWS_THREADS;

var<workgroup> xr_tile: array<vec4<CT>, ROWS_MAX * ROWS_LD>;
var<workgroup> wr_tile: array<vec4<CT>, ROWS_BN * ROWS_LD>;

// Staged item i of the x tile of the step at k0 (row i / ROWS_KQ, vec4 i % ROWS_KQ).
fn rows_fetch_x(i: u32, k0: u32, k4: u32) -> vec4<f32> {
  return load_x(i / ROWS_KQ, k0 / 4u + i % ROWS_KQ, k4);
}

fn rows_fetch_w(i: u32, n0: u32, k0: u32, k4: u32) -> vec4<f32> {
  return load_w(n0 + i / ROWS_KQ, k0 / 4u + i % ROWS_KQ, k4);
}

fn rows_put_x(i: u32, v: vec4<f32>) {
  xr_tile[(i / ROWS_KQ) * ROWS_LD + i % ROWS_KQ] = vec4<CT>(v);
}

fn rows_put_w(i: u32, v: vec4<f32>) {
  wr_tile[(i / ROWS_KQ) * ROWS_LD + i % ROWS_KQ] = vec4<CT>(v);
}

// Four more k of one chain, in ascending order.
fn rows_fma4(c: CT, xv: vec4<CT>, wv: vec4<CT>) -> CT {
  return fma(xv.w, wv.w, fma(xv.z, wv.z, fma(xv.y, wv.y, fma(xv.x, wv.x, c))));
}

struct RowsAcc {
  c: CT,
  s: f32,
}

// Adds k quad g (global vec4 index) to the chain; on the f16 path a BK tile that ends with it
// is folded into the f32 sum, as matmul_tiled's SPLIT epilogue does.
fn rows_step(a: RowsAcc, xv: vec4<CT>, wv: vec4<CT>, g: u32) -> RowsAcc {
  var r = RowsAcc(rows_fma4(a.c, xv, wv), a.s);
  if (SPLIT && (g + 1u) % KQ == 0u) {
    r.s = r.s + f32(r.c);
    r.c = CT(0.0);
  }
  return r;
}

@compute @workgroup_size(ROWS_THREADS)
fn matmul_rows(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let n0 = wg.x * ROWS_BN;
  // Lanes run along columns first: a warp reads 8 distinct w rows and few distinct x rows.
  let cn = tid % ROWS_BN;
  let m = tid / ROWS_BN;
  let k4 = p.k / 4u;
  // matmul_tiled runs whole BK tiles, zero-filled past K: the chain covers the same k.
  let kpad = ((p.k + BK - 1u) / BK) * BK;
  var fx0 = rows_fetch_x(tid, 0u, k4);
  var fx1: vec4<f32>;
  var fx2: vec4<f32>;
  var fx3: vec4<f32>;
  if (ROWS_X_PT > 1u) {
    fx1 = rows_fetch_x(tid + ROWS_THREADS, 0u, k4);
  }
  if (ROWS_X_PT > 2u) {
    fx2 = rows_fetch_x(tid + 2u * ROWS_THREADS, 0u, k4);
    fx3 = rows_fetch_x(tid + 3u * ROWS_THREADS, 0u, k4);
  }
  var fw0 = rows_fetch_w(tid, n0, 0u, k4);
  var fw1: vec4<f32>;
  if (ROWS_W_PT > 1u) {
    fw1 = rows_fetch_w(tid + ROWS_THREADS, n0, 0u, k4);
  }
  var acc = RowsAcc(CT(0.0), 0.0);
  let xb = m * ROWS_LD;
  let wb = cn * ROWS_LD;
  for (var k0 = 0u; k0 < kpad; k0 += ROWS_BK) {
    rows_put_x(tid, fx0);
    if (ROWS_X_PT > 1u) {
      rows_put_x(tid + ROWS_THREADS, fx1);
    }
    if (ROWS_X_PT > 2u) {
      rows_put_x(tid + 2u * ROWS_THREADS, fx2);
      rows_put_x(tid + 3u * ROWS_THREADS, fx3);
    }
    rows_put_w(tid, fw0);
    if (ROWS_W_PT > 1u) {
      rows_put_w(tid + ROWS_THREADS, fw1);
    }
    workgroupBarrier();
    let next = k0 + ROWS_BK;
    if (next < kpad) {
      fx0 = rows_fetch_x(tid, next, k4);
      if (ROWS_X_PT > 1u) {
        fx1 = rows_fetch_x(tid + ROWS_THREADS, next, k4);
      }
      if (ROWS_X_PT > 2u) {
        fx2 = rows_fetch_x(tid + 2u * ROWS_THREADS, next, k4);
        fx3 = rows_fetch_x(tid + 3u * ROWS_THREADS, next, k4);
      }
      fw0 = rows_fetch_w(tid, n0, next, k4);
      if (ROWS_W_PT > 1u) {
        fw1 = rows_fetch_w(tid + ROWS_THREADS, n0, next, k4);
      }
    }
    let steps = min(ROWS_KQ, (kpad - k0) / 4u);
    let g0 = k0 / 4u;
    var q = 0u;
    while (q + 4u <= steps) {
      let x0 = xr_tile[xb + q];
      let w0 = wr_tile[wb + q];
      let x1 = xr_tile[xb + q + 1u];
      let w1 = wr_tile[wb + q + 1u];
      let x2 = xr_tile[xb + q + 2u];
      let w2 = wr_tile[wb + q + 2u];
      let x3 = xr_tile[xb + q + 3u];
      let w3 = wr_tile[wb + q + 3u];
      acc = rows_step(acc, x0, w0, g0 + q);
      acc = rows_step(acc, x1, w1, g0 + q + 1u);
      acc = rows_step(acc, x2, w2, g0 + q + 2u);
      acc = rows_step(acc, x3, w3, g0 + q + 3u);
      q += 4u;
    }
    while (q < steps) {
      acc = rows_step(acc, xr_tile[xb + q], wr_tile[wb + q], g0 + q);
      q += 1u;
    }
    workgroupBarrier();
  }
  store1(m, n0 + cn, select(f32(acc.c), acc.s, SPLIT));
}

@compute @workgroup_size(ROWS_THREADS)
fn matmul_rows_quad(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let n0 = wg.x * ROWS_BN;
  let cn = tid % ROWS_BN;
  // Rows mq, mq + 4, mq + 8, mq + 12 in the lanes of one vec4.
  let mq = tid / ROWS_BN;
  let k4 = p.k / 4u;
  let kpad = ((p.k + BK - 1u) / BK) * BK;
  var fx0 = rows_fetch_x(tid, 0u, k4);
  var fx1: vec4<f32>;
  var fx2: vec4<f32>;
  var fx3: vec4<f32>;
  if (ROWS_X_PT > 1u) {
    fx1 = rows_fetch_x(tid + ROWS_THREADS, 0u, k4);
  }
  if (ROWS_X_PT > 2u) {
    fx2 = rows_fetch_x(tid + 2u * ROWS_THREADS, 0u, k4);
    fx3 = rows_fetch_x(tid + 3u * ROWS_THREADS, 0u, k4);
  }
  var fw0 = rows_fetch_w(tid, n0, 0u, k4);
  var fw1: vec4<f32>;
  var fw2: vec4<f32>;
  var fw3: vec4<f32>;
  if (ROWS_W_PT > 1u) {
    fw1 = rows_fetch_w(tid + ROWS_THREADS, n0, 0u, k4);
  }
  if (ROWS_W_PT > 2u) {
    fw2 = rows_fetch_w(tid + 2u * ROWS_THREADS, n0, 0u, k4);
    fw3 = rows_fetch_w(tid + 3u * ROWS_THREADS, n0, 0u, k4);
  }
  var c = vec4<CT>(0.0);
  var s = vec4<f32>(0.0);
  let xb = mq * ROWS_LD;
  let wb = cn * ROWS_LD;
  for (var k0 = 0u; k0 < kpad; k0 += ROWS_BK) {
    rows_put_x(tid, fx0);
    if (ROWS_X_PT > 1u) {
      rows_put_x(tid + ROWS_THREADS, fx1);
    }
    if (ROWS_X_PT > 2u) {
      rows_put_x(tid + 2u * ROWS_THREADS, fx2);
      rows_put_x(tid + 3u * ROWS_THREADS, fx3);
    }
    rows_put_w(tid, fw0);
    if (ROWS_W_PT > 1u) {
      rows_put_w(tid + ROWS_THREADS, fw1);
    }
    if (ROWS_W_PT > 2u) {
      rows_put_w(tid + 2u * ROWS_THREADS, fw2);
      rows_put_w(tid + 3u * ROWS_THREADS, fw3);
    }
    workgroupBarrier();
    let next = k0 + ROWS_BK;
    if (next < kpad) {
      fx0 = rows_fetch_x(tid, next, k4);
      if (ROWS_X_PT > 1u) {
        fx1 = rows_fetch_x(tid + ROWS_THREADS, next, k4);
      }
      if (ROWS_X_PT > 2u) {
        fx2 = rows_fetch_x(tid + 2u * ROWS_THREADS, next, k4);
        fx3 = rows_fetch_x(tid + 3u * ROWS_THREADS, next, k4);
      }
      fw0 = rows_fetch_w(tid, n0, next, k4);
      if (ROWS_W_PT > 1u) {
        fw1 = rows_fetch_w(tid + ROWS_THREADS, n0, next, k4);
      }
      if (ROWS_W_PT > 2u) {
        fw2 = rows_fetch_w(tid + 2u * ROWS_THREADS, n0, next, k4);
        fw3 = rows_fetch_w(tid + 3u * ROWS_THREADS, n0, next, k4);
      }
    }
    let steps = min(ROWS_KQ, (kpad - k0) / 4u);
    for (var q = 0u; q < steps; q++) {
      let a0 = xr_tile[xb + q];
      let a1 = xr_tile[xb + 4u * ROWS_LD + q];
      let a2 = xr_tile[xb + 8u * ROWS_LD + q];
      let a3 = xr_tile[xb + 12u * ROWS_LD + q];
      let wv = wr_tile[wb + q];
      c = fma(vec4<CT>(a0.x, a1.x, a2.x, a3.x), vec4<CT>(wv.x), c);
      c = fma(vec4<CT>(a0.y, a1.y, a2.y, a3.y), vec4<CT>(wv.y), c);
      c = fma(vec4<CT>(a0.z, a1.z, a2.z, a3.z), vec4<CT>(wv.z), c);
      c = fma(vec4<CT>(a0.w, a1.w, a2.w, a3.w), vec4<CT>(wv.w), c);
      if (SPLIT && (k0 / 4u + q + 1u) % KQ == 0u) {
        s = s + vec4<f32>(c);
        c = vec4<CT>(0.0);
      }
    }
    workgroupBarrier();
  }
  let r = select(vec4<f32>(c), s, SPLIT);
  let n = n0 + cn;
  store1(mq, n, r.x);
  store1(mq + 4u, n, r.y);
  store1(mq + 8u, n, r.z);
  store1(mq + 12u, n, r.w);
}

// matmul_rows_column, the f16 default for wide weights (gate_up, lm_head): the d0f6bf5 kernel,
// body verbatim but for the names of its tile and workgroup size — one thread per output column holding all ROWS_MAX row sums in four vec4<CT>
// (rows in the lanes, the weight splatted), x staged one BK tile at a time, weights loaded one k
// quad at a time. Its f16 bits equal matmul_tiled's on the H200 (tested).
// Dispatch: (ceil(N / ROWS_COL_WG), 1) workgroups of ROWS_COL_WG threads.
// x rows of one k tile, k-major: xc_tile[k * 4 + g] holds rows 4g .. 4g + 3 at that k.
var<workgroup> xc_tile: array<vec4<CT>, BK * ROWS_MAX / 4u>;

@compute @workgroup_size(ROWS_COL_WG)
fn matmul_rows_column(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let n = wg.x * ROWS_COL_WG + tid;
  let k4 = p.k / 4u;
  var c0 = vec4<CT>(0.0);
  var c1 = vec4<CT>(0.0);
  var c2 = vec4<CT>(0.0);
  var c3 = vec4<CT>(0.0);
  var s0 = vec4<f32>(0.0);
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  var s3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    for (var item = tid; item < (ROWS_MAX / 4u) * KQ; item += ROWS_COL_WG) {
      let mq = item / KQ;
      let kq = item % KQ;
      let gk = k0 / 4u + kq;
      let v0 = load_x(mq * 4u, gk, k4);
      let v1 = load_x(mq * 4u + 1u, gk, k4);
      let v2 = load_x(mq * 4u + 2u, gk, k4);
      let v3 = load_x(mq * 4u + 3u, gk, k4);
      let at = kq * 4u * 4u + mq;
      xc_tile[at] = vec4<CT>(vec4<f32>(v0.x, v1.x, v2.x, v3.x));
      xc_tile[at + 4u] = vec4<CT>(vec4<f32>(v0.y, v1.y, v2.y, v3.y));
      xc_tile[at + 8u] = vec4<CT>(vec4<f32>(v0.z, v1.z, v2.z, v3.z));
      xc_tile[at + 12u] = vec4<CT>(vec4<f32>(v0.w, v1.w, v2.w, v3.w));
    }
    workgroupBarrier();
    for (var kq = 0u; kq < KQ; kq++) {
      let wv = load_w(n, k0 / 4u + kq, k4);
      for (var e = 0u; e < 4u; e++) {
        let wk = vec4<CT>(CT(wv[e]));
        let at = (kq * 4u + e) * 4u;
        c0 = fma(xc_tile[at], wk, c0);
        c1 = fma(xc_tile[at + 1u], wk, c1);
        c2 = fma(xc_tile[at + 2u], wk, c2);
        c3 = fma(xc_tile[at + 3u], wk, c3);
      }
    }
    if (SPLIT) {
      s0 = s0 + vec4<f32>(c0);
      c0 = vec4<CT>(0.0);
      s1 = s1 + vec4<f32>(c1);
      c1 = vec4<CT>(0.0);
      s2 = s2 + vec4<f32>(c2);
      c2 = vec4<CT>(0.0);
      s3 = s3 + vec4<f32>(c3);
      c3 = vec4<CT>(0.0);
    }
    workgroupBarrier();
  }
  let r0 = select(vec4<f32>(c0), s0, SPLIT);
  let r1 = select(vec4<f32>(c1), s1, SPLIT);
  let r2 = select(vec4<f32>(c2), s2, SPLIT);
  let r3 = select(vec4<f32>(c3), s3, SPLIT);
  store1(0u, n, r0.x);
  store1(1u, n, r0.y);
  store1(2u, n, r0.z);
  store1(3u, n, r0.w);
  store1(4u, n, r1.x);
  store1(5u, n, r1.y);
  store1(6u, n, r1.z);
  store1(7u, n, r1.w);
  store1(8u, n, r2.x);
  store1(9u, n, r2.y);
  store1(10u, n, r2.z);
  store1(11u, n, r2.w);
  store1(12u, n, r3.x);
  store1(13u, n, r3.y);
  store1(14u, n, r3.z);
  store1(15u, n, r3.w);
}

// matmul_rows_packed, the f16 default for narrow weights (qkv, o, down; bit-identical to
// matmul_tiled on the H200, tested; slower than matmul_rows_column on lm_head, 2.2 vs 0.38 ms,
// likely the per-element conversions): 4 rows of one column per thread like matmul_rows_quad,
// but x and w take exactly matmul_rows_column's conversions — x staged k-major with 4 rows in
// the lanes, built
// from 4 row loads as vec4<CT>(vec4<f32>(v0.x, v1.x, v2.x, v3.x)); w staged as the f32 values
// load_w returns, converted with CT(wv[e]) at the fma — and its fma, fma(x rows, splat(w), c).
// Only the schedule differs (ROWS_BK-long steps, next step's loads issued before the fmas).
// Needs ROWS_BK <= 4 · ROWS_BN (one x item per thread) and ROWS_BK / 16 w vec4s per thread.
var<workgroup> xp_tile: array<vec4<CT>, ROWS_BK * 4u>;
var<workgroup> wp_tile: array<vec4<f32>, ROWS_BN * ROWS_LD>;

struct RowsQuadLoad {
  v0: vec4<f32>,
  v1: vec4<f32>,
  v2: vec4<f32>,
  v3: vec4<f32>,
}

// x item i (< 4 · ROWS_KQ): rows 4g .. 4g + 3 (g = i / ROWS_KQ) at k quad i % ROWS_KQ.
fn rows_packed_fetch_x(i: u32, k0: u32, k4: u32) -> RowsQuadLoad {
  let g = i / ROWS_KQ;
  let gk = k0 / 4u + i % ROWS_KQ;
  return RowsQuadLoad(
    load_x(g * 4u, gk, k4),
    load_x(g * 4u + 1u, gk, k4),
    load_x(g * 4u + 2u, gk, k4),
    load_x(g * 4u + 3u, gk, k4),
  );
}

fn rows_packed_put_x(i: u32, l: RowsQuadLoad) {
  let at = (i % ROWS_KQ) * 4u * 4u + i / ROWS_KQ;
  xp_tile[at] = vec4<CT>(vec4<f32>(l.v0.x, l.v1.x, l.v2.x, l.v3.x));
  xp_tile[at + 4u] = vec4<CT>(vec4<f32>(l.v0.y, l.v1.y, l.v2.y, l.v3.y));
  xp_tile[at + 8u] = vec4<CT>(vec4<f32>(l.v0.z, l.v1.z, l.v2.z, l.v3.z));
  xp_tile[at + 12u] = vec4<CT>(vec4<f32>(l.v0.w, l.v1.w, l.v2.w, l.v3.w));
}

fn rows_packed_put_w(i: u32, v: vec4<f32>) {
  wp_tile[(i / ROWS_KQ) * ROWS_LD + i % ROWS_KQ] = v;
}

@compute @workgroup_size(ROWS_THREADS)
fn matmul_rows_packed(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let n0 = wg.x * ROWS_BN;
  let cn = tid % ROWS_BN;
  // Rows 4 mq .. 4 mq + 3 in the lanes of one vec4.
  let mq = tid / ROWS_BN;
  let k4 = p.k / 4u;
  let kpad = ((p.k + BK - 1u) / BK) * BK;
  let x_items = 4u * ROWS_KQ;
  var fx: RowsQuadLoad;
  if (tid < x_items) {
    fx = rows_packed_fetch_x(tid, 0u, k4);
  }
  var fw0 = rows_fetch_w(tid, n0, 0u, k4);
  var fw1: vec4<f32>;
  var fw2: vec4<f32>;
  var fw3: vec4<f32>;
  if (ROWS_W_PT > 1u) {
    fw1 = rows_fetch_w(tid + ROWS_THREADS, n0, 0u, k4);
  }
  if (ROWS_W_PT > 2u) {
    fw2 = rows_fetch_w(tid + 2u * ROWS_THREADS, n0, 0u, k4);
    fw3 = rows_fetch_w(tid + 3u * ROWS_THREADS, n0, 0u, k4);
  }
  var c = vec4<CT>(0.0);
  var s = vec4<f32>(0.0);
  let wb = cn * ROWS_LD;
  for (var k0 = 0u; k0 < kpad; k0 += ROWS_BK) {
    if (tid < x_items) {
      rows_packed_put_x(tid, fx);
    }
    rows_packed_put_w(tid, fw0);
    if (ROWS_W_PT > 1u) {
      rows_packed_put_w(tid + ROWS_THREADS, fw1);
    }
    if (ROWS_W_PT > 2u) {
      rows_packed_put_w(tid + 2u * ROWS_THREADS, fw2);
      rows_packed_put_w(tid + 3u * ROWS_THREADS, fw3);
    }
    workgroupBarrier();
    let next = k0 + ROWS_BK;
    if (next < kpad) {
      if (tid < x_items) {
        fx = rows_packed_fetch_x(tid, next, k4);
      }
      fw0 = rows_fetch_w(tid, n0, next, k4);
      if (ROWS_W_PT > 1u) {
        fw1 = rows_fetch_w(tid + ROWS_THREADS, n0, next, k4);
      }
      if (ROWS_W_PT > 2u) {
        fw2 = rows_fetch_w(tid + 2u * ROWS_THREADS, n0, next, k4);
        fw3 = rows_fetch_w(tid + 3u * ROWS_THREADS, n0, next, k4);
      }
    }
    let steps = min(ROWS_KQ, (kpad - k0) / 4u);
    for (var q = 0u; q < steps; q++) {
      let wv = wp_tile[wb + q];
      for (var e = 0u; e < 4u; e++) {
        let wk = vec4<CT>(CT(wv[e]));
        c = fma(xp_tile[(q * 4u + e) * 4u + mq], wk, c);
      }
      if (SPLIT && (k0 / 4u + q + 1u) % KQ == 0u) {
        s = s + vec4<f32>(c);
        c = vec4<CT>(0.0);
      }
    }
    workgroupBarrier();
  }
  let r = select(vec4<f32>(c), s, SPLIT);
  let n = n0 + cn;
  store1(mq * 4u, n, r.x);
  store1(mq * 4u + 1u, n, r.y);
  store1(mq * 4u + 2u, n, r.z);
  store1(mq * 4u + 3u, n, r.w);
}
