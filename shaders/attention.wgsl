// attention: o[r, h, :] = sum_{j <= pos(r)} softmax_j(q[r, h, :] · k[j, h / G, :] * scale) v[j, h / G, :]
// grouped-query (G = NH / NKV query heads share a KV head), causal, over a KV cache.
//
// Shapes: blocks [n_blocks] vec4<u32> (first_row, count, kv_base, first_pos) (read): a block is up
// to QB consecutive query rows of one sequence, row i at position first_pos + i, its keys at cache
// rows kv_base + 0 ..= pos; q [rows, NH HS] f32 (read, as vec4); k_cache, v_cache
// [capacity, NKV HS] f32 (read, as vec4); o [rows, NH HS] f32 (read_write, as vec4).
// Bindings: 0 run, 1 params, 2 blocks, 3 q, 4 k_cache, 5 v_cache, 6 o.
// Dispatch: (n_blocks, NH) workgroups of WG = QB * HS / 8 threads. The host prepends HS (a multiple
// of 8), QB, KT (keys per tile) and WG.
//
// Determinism: an online softmax over key tiles [t KT, (t + 1) KT) in ascending order, the tile
// boundaries fixed by absolute key index; within a tile the row sum and the weighted sum of v run
// over j in order with fma, and each q·k is one fma chain over d in order (read four at a time).
// Keys past a row's position contribute exactly zero (p = 0 by select, alpha = 1 when the running
// max is unchanged), so a row's bits do not depend on the block it shares or the batch: a one-row
// decode block reproduces the proof forward exactly. No atomics.

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
// Each thread owns 8 output dims of one row — two vec4s, at lane and lane + TPR (in vec4 units) —
// held in named registers: an indexed accumulator array can land in (slow) local memory where the
// driver does not unroll naga's loops.
const TPR: u32 = HS / 8u;
// Rows of q and k are padded by one vec4 so that threads walking different rows hit different banks.
const QK_STRIDE: u32 = H4 + 1u;

@group(0) @binding(0) var<uniform> run: Run;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> blocks: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> k_cache: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> v_cache: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> o: array<vec4<f32>>;

var<workgroup> q_s: array<vec4<f32>, QB * QK_STRIDE>;
var<workgroup> k_s: array<vec4<f32>, KT * QK_STRIDE>;
var<workgroup> v_s: array<vec4<f32>, KT * H4>;
var<workgroup> p_s: array<f32, QB * KT>;
var<workgroup> alpha_s: array<f32, QB>;
var<workgroup> l_s: array<f32, QB>;

// fma chain over the four lanes in order: the same arithmetic as a scalar loop over d.
fn dot4(a: vec4<f32>, b: vec4<f32>, acc: f32) -> f32 {
  return fma(a.w, b.w, fma(a.z, b.z, fma(a.y, b.y, fma(a.x, b.x, acc))));
}

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
    q_s[qi * QK_STRIDE + d] = v;
  }

  let my_row = tid / TPR;
  let lane = tid % TPR;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var m_run = NEG;
  var l_run = 0.0;
  let n_tiles = last_pos / KT + 1u;
  for (var t = 0u; t < n_tiles; t++) {
    let t0 = t * KT;
    workgroupBarrier();
    for (var e = tid; e < KT * H4; e += WG) {
      let j = e / H4;
      let d = e % H4;
      let key = t0 + j;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (key <= last_pos) {
        let at = (kv_base + key) * kv_width + kvh * H4 + d;
        kv = k_cache[at];
        vv = v_cache[at];
      }
      k_s[j * QK_STRIDE + d] = kv;
      v_s[j * H4 + d] = vv;
    }
    workgroupBarrier();
    for (var e = tid; e < QB * KT; e += WG) {
      let qi = e / KT;
      let j = e % KT;
      var s = 0.0;
      for (var d = 0u; d < H4; d++) {
        s = dot4(q_s[qi * QK_STRIDE + d], k_s[j * QK_STRIDE + d], s);
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
    acc0 = acc0 * a;
    acc1 = acc1 * a;
    for (var j = 0u; j < KT; j++) {
      let pj = vec4<f32>(p_s[my_row * KT + j]);
      acc0 = fma(pj, v_s[j * H4 + lane], acc0);
      acc1 = fma(pj, v_s[j * H4 + lane + TPR], acc1);
    }
  }
  if (tid < QB) {
    l_s[tid] = l_run;
  }
  workgroupBarrier();
  if (my_row < count) {
    let out = (first_row + my_row) * q_width + head * H4 + lane;
    let l = l_s[my_row];
    o[out] = acc0 / l;
    o[out + TPR] = acc1 / l;
  }
}
