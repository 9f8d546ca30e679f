// attention: o[r, h, :] = sum_{j <= pos(r)} softmax_j(q[r, h, :] · k[j, h / G, :] * scale) v[j, h / G, :]
// grouped-query (G = NH / NKV query heads share a KV head), causal, over a KV cache.
//
// Shapes: blocks [n_blocks] vec4<u32> (first_row, count, kv_base, first_pos) (read): a block is up
// to QB consecutive query rows of one sequence, row i at position first_pos + i, its keys at cache
// rows kv_base + 0 ..= pos; q [rows, NH HS] f32 (read, as vec4); k_cache, v_cache
// [capacity, NKV HS] f32 (read, as vec4); o [rows, NH HS] f32 (read_write, as vec4).
// Bindings: 0 run, 1 params, 2 blocks, 3 q, 4 k_cache, 5 v_cache, 6 o.
// Dispatch: (n_blocks, NH) workgroups of WG = QB * 4 threads: four threads per query row, which
// share the row's scores (4 keys of each 16-key tile each) and its output (thread c holds the
// vec4s c, c + 4, ... below HS / 4). The host prepends HS (a multiple of 4, at most 128), QB, KT
// (keys per tile, 16), KL (keys per shared-memory load, a multiple of KT) and WG.
//
// Determinism: an online softmax over key tiles [t KT, (t + 1) KT) in ascending order, the tile
// boundaries fixed by absolute key index; within a tile the row sum and the weighted sum of v run
// over j in order with fma, and each q·k is one fma chain over d in order (read four at a time).
// Which thread computes a value never changes the value: the four threads of a row each take the
// tile max (exact in any order), compute the exp of their own keys, and each sums the row's 16
// weights in key order, so every thread holds the same running max and sum. Keys past a row's
// position contribute exactly zero (p = 0 by select, alpha = 1 when the running max is
// unchanged), so a row's bits do not depend on the block it shares or the batch: a one-row decode
// block reproduces the proof forward exactly. No atomics.
//
// Variants (each bit-identical to the one before; 1–3 checked on llvmpipe, 3–4 on the H200).
// GPU ms of one layer, H200, 16 × 1024 tokens (bench/attention_kernels.ts, 2026-11-25 23:53 UTC):
// 0.5B shape (NH 14, NKV 2, HS 64) / Qwen3-4B shape (NH 32, NKV 8, HS 128, 4 × 1024 tokens):
//   1. 16 rows per workgroup, 8 output dims per thread, softmax by one thread per row (serial).
//   2. 32 rows, 4 threads per row: scores 4 keys per thread against one q read, exps in
//      parallel, scores and weights in separate arrays (one barrier more, 4× less serial work).
//      4.46 / 6.62 ms.
//   3. KL keys (KL / KT tiles) per pair of load barriers; the tiles inside run as before. KL 16:
//      4.53 / 6.69 ms; KL 32: 7.68 ms and KL 64: 7.60 ms (fewer workgroups fit in shared memory),
//      so the host keeps 16.
//   4. attention_rows_sg (after its marker line below; compiled only where the device grants
//      `subgroups` and a probe found the 4 threads of a row at consecutive lanes of one
//      subgroup): the row's max and its 16 weights move between the 4 threads by subgroup
//      shuffles instead of two shared arrays and two barriers. Same values, same order.
//      3.40 / 5.49 ms (−24 % / −17 %); with 64 rows per workgroup 3.41 ms, with 16 4.61 ms.
// The host compiles the common part below with one of the two sections (marker lines).

struct Run {
  rows: u32,
  x_row_offset: u32,
  _pad0: u32,
  _pad1: u32,
}

struct Params {
  nh: u32,
  nkv: u32,
  scale: f32,
  _pad0: u32,
}

const NEG: f32 = -3.0e38;
const H4: u32 = HS / 4u;
// Threads per query row; thread c of a row owns keys c, c + 4, c + 8, c + 12 of each tile and the
// output vec4s c, c + 4, ... below H4 (in named registers acc0 .. acc7: an indexed accumulator
// array can land in (slow) local memory where the driver does not unroll loops).
const TPR: u32 = 4u;
// Output vec4s every thread of a row holds; one more for the threads with c < H4 % 4.
const VPT: u32 = H4 / TPR;
// Rows of q and k are padded by one vec4, rows of the score arrays by one f32, so that threads
// walking different rows hit different banks.
const QS: u32 = H4 + 1u;
const PS: u32 = KT + 1u;

@group(0) @binding(0) var<uniform> run: Run;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> blocks: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> k_cache: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> v_cache: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> o: array<vec4<f32>>;

var<workgroup> q_s: array<vec4<f32>, QB * QS>;
var<workgroup> k_s: array<vec4<f32>, KL * QS>;
var<workgroup> v_s: array<vec4<f32>, KL * H4>;

// Whether thread c of a row holds output vec4 c + 4 i (a constant for i < VPT and i > VPT).
fn holds(i: u32, c: u32) -> bool {
  return i < VPT || (i == VPT && c + TPR * i < H4);
}

// fma chain over the four lanes in order: the same arithmetic as a scalar loop over d.
fn dot4(a: vec4<f32>, b: vec4<f32>, acc: f32) -> f32 {
  return fma(a.w, b.w, fma(a.z, b.z, fma(a.y, b.y, fma(a.x, b.x, acc))));
}

// ---- attention_rows: the row's scores and weights pass through shared memory ----

// Scaled scores (NEG where masked), then the tile's softmax weights.
var<workgroup> s_s: array<f32, QB * PS>;
var<workgroup> e_s: array<f32, QB * PS>;

@compute @workgroup_size(WG)
fn attention_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let blk = blocks[wg.x];
  let first_row = blk.x;
  let count = blk.y;
  let kv_base = blk.z;
  let first_pos = blk.w;
  let head = wg.y;
  let kvh = head / (p.nh / p.nkv);
  let q_width = p.nh * H4;
  let kv_width = p.nkv * H4;
  let last_pos = first_pos + count - 1u;

  for (var e = tid; e < QB * H4; e += WG) {
    let qi = e / H4;
    let d = e % H4;
    var v = vec4<f32>(0.0);
    if (qi < count) {
      v = q[(first_row + qi) * q_width + head * H4 + d];
    }
    q_s[qi * QS + d] = v;
  }

  let r = tid / TPR;
  let c = tid % TPR;
  let row_pos = first_pos + r;
  let live = r < count;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  var m_run = NEG;
  var l_run = 0.0;
  for (var l0 = 0u; l0 <= last_pos; l0 += KL) {
    workgroupBarrier();
    for (var e = tid; e < KL * H4; e += WG) {
      let j = e / H4;
      let d = e % H4;
      let key = l0 + j;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (key <= last_pos) {
        let at = (kv_base + key) * kv_width + kvh * H4 + d;
        kv = k_cache[at];
        vv = v_cache[at];
      }
      k_s[j * QS + d] = kv;
      v_s[j * H4 + d] = vv;
    }
    workgroupBarrier();
    // The KT-key tiles of this load, each exactly as if it had been loaded alone.
    for (var t0 = l0; t0 < l0 + KL && t0 <= last_pos; t0 += KT) {
      let kb = t0 - l0;
      var s0 = 0.0;
      var s1 = 0.0;
      var s2 = 0.0;
      var s3 = 0.0;
      if (live && t0 <= row_pos) {
        for (var d = 0u; d < H4; d++) {
          let qv = q_s[r * QS + d];
          s0 = dot4(qv, k_s[(kb + c) * QS + d], s0);
          s1 = dot4(qv, k_s[(kb + c + 4u) * QS + d], s1);
          s2 = dot4(qv, k_s[(kb + c + 8u) * QS + d], s2);
          s3 = dot4(qv, k_s[(kb + c + 12u) * QS + d], s3);
        }
      }
      let sr = r * PS;
      s_s[sr + c] = select(s0 * p.scale, NEG, !live || t0 + c > row_pos);
      s_s[sr + c + 4u] = select(s1 * p.scale, NEG, !live || t0 + c + 4u > row_pos);
      s_s[sr + c + 8u] = select(s2 * p.scale, NEG, !live || t0 + c + 8u > row_pos);
      s_s[sr + c + 12u] = select(s3 * p.scale, NEG, !live || t0 + c + 12u > row_pos);
      workgroupBarrier();
      var mt = NEG;
      for (var j = 0u; j < KT; j++) {
        mt = max(mt, s_s[sr + j]);
      }
      let m_new = max(m_run, mt);
      var alpha = 1.0;
      if (m_new != m_run) {
        alpha = exp(m_run - m_new);
      }
      m_run = m_new;
      for (var i = 0u; i < KT; i += TPR) {
        let s = s_s[sr + c + i];
        e_s[sr + c + i] = select(exp(s - m_new), 0.0, s == NEG);
      }
      workgroupBarrier();
      var sum = 0.0;
      for (var j = 0u; j < KT; j++) {
        sum = sum + e_s[sr + j];
      }
      l_run = l_run * alpha + sum;
      acc0 = acc0 * alpha;
      acc1 = acc1 * alpha;
      acc2 = acc2 * alpha;
      acc3 = acc3 * alpha;
      acc4 = acc4 * alpha;
      acc5 = acc5 * alpha;
      acc6 = acc6 * alpha;
      acc7 = acc7 * alpha;
      for (var j = 0u; j < KT; j++) {
        let pj = vec4<f32>(e_s[sr + j]);
        let vb = (kb + j) * H4 + c;
        if (holds(0u, c)) {
          acc0 = fma(pj, v_s[vb + 0u], acc0);
        }
        if (holds(1u, c)) {
          acc1 = fma(pj, v_s[vb + 4u], acc1);
        }
        if (holds(2u, c)) {
          acc2 = fma(pj, v_s[vb + 8u], acc2);
        }
        if (holds(3u, c)) {
          acc3 = fma(pj, v_s[vb + 12u], acc3);
        }
        if (holds(4u, c)) {
          acc4 = fma(pj, v_s[vb + 16u], acc4);
        }
        if (holds(5u, c)) {
          acc5 = fma(pj, v_s[vb + 20u], acc5);
        }
        if (holds(6u, c)) {
          acc6 = fma(pj, v_s[vb + 24u], acc6);
        }
        if (holds(7u, c)) {
          acc7 = fma(pj, v_s[vb + 28u], acc7);
        }
      }
    }
  }
  if (live) {
    let out = (first_row + r) * q_width + head * H4 + c;
    if (holds(0u, c)) {
      o[out + 0u] = acc0 / l_run;
    }
    if (holds(1u, c)) {
      o[out + 4u] = acc1 / l_run;
    }
    if (holds(2u, c)) {
      o[out + 8u] = acc2 / l_run;
    }
    if (holds(3u, c)) {
      o[out + 12u] = acc3 / l_run;
    }
    if (holds(4u, c)) {
      o[out + 16u] = acc4 / l_run;
    }
    if (holds(5u, c)) {
      o[out + 20u] = acc5 / l_run;
    }
    if (holds(6u, c)) {
      o[out + 24u] = acc6 / l_run;
    }
    if (holds(7u, c)) {
      o[out + 28u] = acc7 / l_run;
    }
  }
}

// ---- attention_rows_sg: compiled only where the device grants `subgroups` (see the header) ----

@compute @workgroup_size(WG)
fn attention_rows_sg(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  let blk = blocks[wg.x];
  let first_row = blk.x;
  let count = blk.y;
  let kv_base = blk.z;
  let first_pos = blk.w;
  let head = wg.y;
  let kvh = head / (p.nh / p.nkv);
  let q_width = p.nh * H4;
  let kv_width = p.nkv * H4;
  let last_pos = first_pos + count - 1u;

  for (var e = tid; e < QB * H4; e += WG) {
    let qi = e / H4;
    let d = e % H4;
    var v = vec4<f32>(0.0);
    if (qi < count) {
      v = q[(first_row + qi) * q_width + head * H4 + d];
    }
    q_s[qi * QS + d] = v;
  }

  let r = tid / TPR;
  let c = tid % TPR;
  let row_pos = first_pos + r;
  let live = r < count;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  var m_run = NEG;
  var l_run = 0.0;
  for (var l0 = 0u; l0 <= last_pos; l0 += KL) {
    workgroupBarrier();
    for (var e = tid; e < KL * H4; e += WG) {
      let j = e / H4;
      let d = e % H4;
      let key = l0 + j;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (key <= last_pos) {
        let at = (kv_base + key) * kv_width + kvh * H4 + d;
        kv = k_cache[at];
        vv = v_cache[at];
      }
      k_s[j * QS + d] = kv;
      v_s[j * H4 + d] = vv;
    }
    workgroupBarrier();
    // The KT-key tiles of this load, each exactly as if it had been loaded alone.
    for (var t0 = l0; t0 < l0 + KL && t0 <= last_pos; t0 += KT) {
      let kb = t0 - l0;
      var s0 = 0.0;
      var s1 = 0.0;
      var s2 = 0.0;
      var s3 = 0.0;
      if (live && t0 <= row_pos) {
        for (var d = 0u; d < H4; d++) {
          let qv = q_s[r * QS + d];
          s0 = dot4(qv, k_s[(kb + c) * QS + d], s0);
          s1 = dot4(qv, k_s[(kb + c + 4u) * QS + d], s1);
          s2 = dot4(qv, k_s[(kb + c + 8u) * QS + d], s2);
          s3 = dot4(qv, k_s[(kb + c + 12u) * QS + d], s3);
        }
      }
      // Lane of thread 0 of this row (the probe checked lane = tid mod subgroup size).
      let row_lane = lane - c;
      let sc0 = select(s0 * p.scale, NEG, !live || t0 + c > row_pos);
      let sc1 = select(s1 * p.scale, NEG, !live || t0 + c + 4u > row_pos);
      let sc2 = select(s2 * p.scale, NEG, !live || t0 + c + 8u > row_pos);
      let sc3 = select(s3 * p.scale, NEG, !live || t0 + c + 12u > row_pos);
      // The max is exact in any order: the row's 16 scores through two butterfly steps.
      var mt = max(NEG, max(max(sc0, sc1), max(sc2, sc3)));
      mt = max(mt, subgroupShuffleXor(mt, 1u));
      mt = max(mt, subgroupShuffleXor(mt, 2u));
      let m_new = max(m_run, mt);
      var alpha = 1.0;
      if (m_new != m_run) {
        alpha = exp(m_run - m_new);
      }
      m_run = m_new;
      let e0 = select(exp(sc0 - m_new), 0.0, sc0 == NEG);
      let e1 = select(exp(sc1 - m_new), 0.0, sc1 == NEG);
      let e2 = select(exp(sc2 - m_new), 0.0, sc2 == NEG);
      let e3 = select(exp(sc3 - m_new), 0.0, sc3 == NEG);
      acc0 = acc0 * alpha;
      acc1 = acc1 * alpha;
      acc2 = acc2 * alpha;
      acc3 = acc3 * alpha;
      acc4 = acc4 * alpha;
      acc5 = acc5 * alpha;
      acc6 = acc6 * alpha;
      acc7 = acc7 * alpha;
      // Key j's weight is e(j / 4) of thread j % 4; the sum runs over j in key order as in
      // attention_rows, beside the weighted sum of v (two separate chains, same order each).
      var sum = 0.0;
      for (var j = 0u; j < KT; j++) {
        let i = j / TPR;
        let mine = select(select(e0, e1, i == 1u), select(e2, e3, i == 3u), i >= 2u);
        let w = subgroupShuffle(mine, row_lane + j % TPR);
        sum = sum + w;
        let pj = vec4<f32>(w);
        let vb = (kb + j) * H4 + c;
        if (holds(0u, c)) {
          acc0 = fma(pj, v_s[vb + 0u], acc0);
        }
        if (holds(1u, c)) {
          acc1 = fma(pj, v_s[vb + 4u], acc1);
        }
        if (holds(2u, c)) {
          acc2 = fma(pj, v_s[vb + 8u], acc2);
        }
        if (holds(3u, c)) {
          acc3 = fma(pj, v_s[vb + 12u], acc3);
        }
        if (holds(4u, c)) {
          acc4 = fma(pj, v_s[vb + 16u], acc4);
        }
        if (holds(5u, c)) {
          acc5 = fma(pj, v_s[vb + 20u], acc5);
        }
        if (holds(6u, c)) {
          acc6 = fma(pj, v_s[vb + 24u], acc6);
        }
        if (holds(7u, c)) {
          acc7 = fma(pj, v_s[vb + 28u], acc7);
        }
      }
      l_run = l_run * alpha + sum;
    }
  }
  if (live) {
    let out = (first_row + r) * q_width + head * H4 + c;
    if (holds(0u, c)) {
      o[out + 0u] = acc0 / l_run;
    }
    if (holds(1u, c)) {
      o[out + 4u] = acc1 / l_run;
    }
    if (holds(2u, c)) {
      o[out + 8u] = acc2 / l_run;
    }
    if (holds(3u, c)) {
      o[out + 12u] = acc3 / l_run;
    }
    if (holds(4u, c)) {
      o[out + 16u] = acc4 / l_run;
    }
    if (holds(5u, c)) {
      o[out + 20u] = acc5 / l_run;
    }
    if (holds(6u, c)) {
      o[out + 24u] = acc6 / l_run;
    }
    if (holds(7u, c)) {
      o[out + 28u] = acc7 / l_run;
    }
  }
}
