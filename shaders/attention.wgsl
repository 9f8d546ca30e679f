// attention: o[r, h, :] = sum_{j <= pos(r)} softmax_j(q[r, h, :] · k[j, h / G, :] * scale) v[j, h / G, :]
// grouped-query (G = NH / NKV query heads share a KV head), causal, over a KV cache.
//
// Shapes: blocks [n_blocks] vec4<u32> (first_row, count, kv_base, first_pos) (read): a block is up
// to QB consecutive query rows of one sequence, row i at position first_pos + i, its keys at cache
// rows kv_base + 0 ..= pos; q [rows, NH HS] f32 (read); k_cache, v_cache [capacity, NKV HS] f32
// (read); o [rows, NH HS] f32 (read_write).
// Bindings: 0 run, 1 params, 2 blocks, 3 q, 4 k_cache, 5 v_cache, 6 o.
// Dispatch: (n_blocks, NH) workgroups of WG = QB * HS / 8 threads. The host prepends HS (a multiple
// of 8), QB, KT (keys per tile) and WG.
//
// Determinism: an online softmax over key tiles [t KT, (t + 1) KT) in ascending order, the tile
// boundaries fixed by absolute key index; within a tile the row sum and the weighted sum of v run
// over j in order with fma. Keys past a row's position contribute exactly zero (p = 0 by select,
// alpha = 1 when the running max is unchanged), so a row's bits do not depend on the block it shares
// or the batch: a one-row decode block reproduces the proof forward exactly. No atomics.

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
// Each thread owns 8 output dims of one row (d = lane + u TPR), held in named registers: an indexed
// accumulator array can land in (slow) local memory where the driver does not unroll naga's loops.
const TPR: u32 = HS / 8u;

@group(0) @binding(0) var<uniform> run: Run;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> blocks: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k_cache: array<f32>;
@group(0) @binding(5) var<storage, read> v_cache: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;

// Rows of q and k are padded by one word so that threads walking different rows hit different banks.
var<workgroup> q_s: array<f32, QB * (HS + 1u)>;
var<workgroup> k_s: array<f32, KT * (HS + 1u)>;
var<workgroup> v_s: array<f32, KT * HS>;
var<workgroup> p_s: array<f32, QB * KT>;
var<workgroup> alpha_s: array<f32, QB>;
var<workgroup> l_s: array<f32, QB>;

@compute @workgroup_size(WG)
fn attention_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let blk = blocks[wg.x];
  let first_row = blk.x;
  let count = blk.y;
  let kv_base = blk.z;
  let first_pos = blk.w;
  let head = wg.y;
  let kvh = head / (p.nh / p.nkv);
  let q_width = p.nh * HS;
  let kv_width = p.nkv * HS;
  let last_pos = first_pos + count - 1u;

  for (var e = tid; e < QB * HS; e += WG) {
    let qi = e / HS;
    let d = e % HS;
    var v = 0.0;
    if (qi < count) {
      v = q[(first_row + qi) * q_width + head * HS + d];
    }
    q_s[qi * (HS + 1u) + d] = v;
  }

  let my_row = tid / TPR;
  let lane = tid % TPR;
  var acc0 = 0.0;
  var acc1 = 0.0;
  var acc2 = 0.0;
  var acc3 = 0.0;
  var acc4 = 0.0;
  var acc5 = 0.0;
  var acc6 = 0.0;
  var acc7 = 0.0;
  var m_run = NEG;
  var l_run = 0.0;
  let n_tiles = last_pos / KT + 1u;
  for (var t = 0u; t < n_tiles; t++) {
    let t0 = t * KT;
    workgroupBarrier();
    for (var e = tid; e < KT * HS; e += WG) {
      let j = e / HS;
      let d = e % HS;
      let key = t0 + j;
      var kv = 0.0;
      var vv = 0.0;
      if (key <= last_pos) {
        let at = (kv_base + key) * kv_width + kvh * HS + d;
        kv = k_cache[at];
        vv = v_cache[at];
      }
      k_s[j * (HS + 1u) + d] = kv;
      v_s[j * HS + d] = vv;
    }
    workgroupBarrier();
    for (var e = tid; e < QB * KT; e += WG) {
      let qi = e / KT;
      let j = e % KT;
      var s = 0.0;
      for (var d = 0u; d < HS; d++) {
        s = fma(q_s[qi * (HS + 1u) + d], k_s[j * (HS + 1u) + d], s);
      }
      let masked = qi >= count || t0 + j > first_pos + qi;
      p_s[qi * KT + j] = select(s * p.scale, NEG, masked);
    }
    workgroupBarrier();
    if (tid < QB) {
      var mt = NEG;
      for (var j = 0u; j < KT; j++) {
        mt = max(mt, p_s[tid * KT + j]);
      }
      let m_new = max(m_run, mt);
      var alpha = 1.0;
      if (m_new != m_run) {
        alpha = exp(m_run - m_new);
      }
      var sum = 0.0;
      for (var j = 0u; j < KT; j++) {
        let s = p_s[tid * KT + j];
        let e = select(exp(s - m_new), 0.0, s == NEG);
        p_s[tid * KT + j] = e;
        sum = sum + e;
      }
      l_run = l_run * alpha + sum;
      m_run = m_new;
      alpha_s[tid] = alpha;
    }
    workgroupBarrier();
    let a = alpha_s[my_row];
    acc0 *= a;
    acc1 *= a;
    acc2 *= a;
    acc3 *= a;
    acc4 *= a;
    acc5 *= a;
    acc6 *= a;
    acc7 *= a;
    for (var j = 0u; j < KT; j++) {
      let pj = p_s[my_row * KT + j];
      let vrow = j * HS + lane;
      acc0 = fma(pj, v_s[vrow], acc0);
      acc1 = fma(pj, v_s[vrow + TPR], acc1);
      acc2 = fma(pj, v_s[vrow + 2u * TPR], acc2);
      acc3 = fma(pj, v_s[vrow + 3u * TPR], acc3);
      acc4 = fma(pj, v_s[vrow + 4u * TPR], acc4);
      acc5 = fma(pj, v_s[vrow + 5u * TPR], acc5);
      acc6 = fma(pj, v_s[vrow + 6u * TPR], acc6);
      acc7 = fma(pj, v_s[vrow + 7u * TPR], acc7);
    }
  }
  if (tid < QB) {
    l_s[tid] = l_run;
  }
  workgroupBarrier();
  if (my_row < count) {
    let out = (first_row + my_row) * q_width + head * HS + lane;
    let l = l_s[my_row];
    o[out] = acc0 / l;
    o[out + TPR] = acc1 / l;
    o[out + 2u * TPR] = acc2 / l;
    o[out + 3u * TPR] = acc3 / l;
    o[out + 4u * TPR] = acc4 / l;
    o[out + 5u * TPR] = acc5 / l;
    o[out + 6u * TPR] = acc6 / l;
    o[out + 7u * TPR] = acc7 / l;
  }
}
