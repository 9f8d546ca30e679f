// attention backward of out[t, h] = Σ_{j ≤ t} P[h, t, j]·v[j, g(h)], P = softmax_j(q[t, h]·k[j, g(h)]·scale)
// (causal, grouped-query: g(h) = h / (NH / NKV)), in three passes:
//   _scores: recompute P; dP[j] = dout[t, h]·v[j]; dS[h, t, j] = P·(dP − Σ_j P·dP)·scale
//   _dq:     dq[t, h, i] = Σ_{j ≤ t} dS[h, t, j]·k[j, g(h), i]
//   _dkv:    dk[j, g, i] = Σ_{h ∈ g} Σ_{t ≥ j} dS[h, t, j]·q[t, h, i]
//            dv[j, g, i] = Σ_{h ∈ g} Σ_{t ≥ j} P[h, t, j]·dout[t, h, i]
//
// The training forward uses the same bindings: attention_forward_probs writes P (as _scores
// does, without dout), attention_forward_out writes out[t, h, i] = Σ_{j ≤ t} P[h, t, j]·v[j, g(h), i]
// into dq's slot.
//
// Shapes: q [T, NH·HS], k/v [T, NKV·HS], dout [T, NH·HS] f32 (read); probs/dscores [NH, T, T] f32
// (read_write: written by _scores, zero above the diagonal); dq [T, NH·HS], dk/dv [T, NKV·HS] f32
// (read_write).
// Bindings: 0 params (uniform), 1 q, 2 k, 3 v, 4 dout, 5 probs, 6 dscores, 7 dq, 8 dk, 9 dv.
// Dispatch: _scores: (T, NH, 1) workgroups of WG threads (WG a power of two);
//   _dq: (ceil(HS / WG), T, NH); _dkv: (ceil(HS / WG), T, NKV).
//
// Determinism: softmax sums are thread-strided then a fixed tree per (t, h); dq/dk/dv are one
// sequential sum per element in ascending j, t and h. No atomics.

struct Params {
  t: u32,
  nh: u32,
  nkv: u32,
  hs: u32,
  scale: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;
@group(0) @binding(6) var<storage, read_write> dscores: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(8) var<storage, read_write> dk: array<f32>;
@group(0) @binding(9) var<storage, read_write> dv: array<f32>;

var<workgroup> red: array<f32, WG>;

fn reduce_max(tid: u32, x: f32) -> f32 {
  red[tid] = x;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (tid < h) {
      red[tid] = max(red[tid], red[tid + h]);
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(tid: u32, x: f32) -> f32 {
  red[tid] = x;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (tid < h) {
      red[tid] = red[tid] + red[tid + h];
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn attention_backward_scores(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let t = wg.x;
  let h = wg.y;
  let qd = p.nh * p.hs;
  let kvd = p.nkv * p.hs;
  let kvo = (h / (p.nh / p.nkv)) * p.hs;
  let qo = t * qd + h * p.hs;
  let prow = (h * p.t + t) * p.t;
  var m = -3.4028235e38;
  for (var j = tid; j < p.t; j += WG) {
    var s = 0.0;
    if (j <= t) {
      for (var i = 0u; i < p.hs; i++) {
        s = fma(q[qo + i], k[j * kvd + kvo + i], s);
      }
      s = s * p.scale;
      m = max(m, s);
    }
    probs[prow + j] = s;
  }
  let mx = reduce_max(tid, m);
  var se = 0.0;
  for (var j = tid; j <= t; j += WG) {
    let e = exp(probs[prow + j] - mx);
    probs[prow + j] = e;
    se = se + e;
  }
  let denom = reduce_sum(tid, se);
  var pdp = 0.0;
  for (var j = tid; j < p.t; j += WG) {
    if (j <= t) {
      let pj = probs[prow + j] / denom;
      probs[prow + j] = pj;
      var dp = 0.0;
      for (var i = 0u; i < p.hs; i++) {
        dp = fma(dout[qo + i], v[j * kvd + kvo + i], dp);
      }
      dscores[prow + j] = dp;
      pdp = fma(pj, dp, pdp);
    } else {
      probs[prow + j] = 0.0;
      dscores[prow + j] = 0.0;
    }
  }
  let total = reduce_sum(tid, pdp);
  for (var j = tid; j <= t; j += WG) {
    dscores[prow + j] = probs[prow + j] * (dscores[prow + j] - total) * p.scale;
  }
}

@compute @workgroup_size(WG)
fn attention_backward_dq(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wg: vec3<u32>,
) {
  let i = gid.x;
  let t = wg.y;
  let h = wg.z;
  if (i >= p.hs) {
    return;
  }
  let kvd = p.nkv * p.hs;
  let kvo = (h / (p.nh / p.nkv)) * p.hs;
  let prow = (h * p.t + t) * p.t;
  var acc = 0.0;
  for (var j = 0u; j <= t; j++) {
    acc = fma(dscores[prow + j], k[j * kvd + kvo + i], acc);
  }
  dq[t * p.nh * p.hs + h * p.hs + i] = acc;
}

@compute @workgroup_size(WG)
fn attention_backward_dkv(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wg: vec3<u32>,
) {
  let i = gid.x;
  let j = wg.y;
  let g = wg.z;
  if (i >= p.hs) {
    return;
  }
  let groups = p.nh / p.nkv;
  let qd = p.nh * p.hs;
  var ak = 0.0;
  var av = 0.0;
  for (var hh = 0u; hh < groups; hh++) {
    let h = g * groups + hh;
    for (var t = j; t < p.t; t++) {
      let pi = (h * p.t + t) * p.t + j;
      ak = fma(dscores[pi], q[t * qd + h * p.hs + i], ak);
      av = fma(probs[pi], dout[t * qd + h * p.hs + i], av);
    }
  }
  let o = j * p.nkv * p.hs + g * p.hs + i;
  dk[o] = ak;
  dv[o] = av;
}

@compute @workgroup_size(WG)
fn attention_forward_probs(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let t = wg.x;
  let h = wg.y;
  let qd = p.nh * p.hs;
  let kvd = p.nkv * p.hs;
  let kvo = (h / (p.nh / p.nkv)) * p.hs;
  let qo = t * qd + h * p.hs;
  let prow = (h * p.t + t) * p.t;
  var m = -3.4028235e38;
  for (var j = tid; j < p.t; j += WG) {
    var s = 0.0;
    if (j <= t) {
      for (var i = 0u; i < p.hs; i++) {
        s = fma(q[qo + i], k[j * kvd + kvo + i], s);
      }
      s = s * p.scale;
      m = max(m, s);
    }
    probs[prow + j] = s;
  }
  let mx = reduce_max(tid, m);
  var se = 0.0;
  for (var j = tid; j <= t; j += WG) {
    let e = exp(probs[prow + j] - mx);
    probs[prow + j] = e;
    se = se + e;
  }
  let denom = reduce_sum(tid, se);
  for (var j = tid; j < p.t; j += WG) {
    if (j <= t) {
      probs[prow + j] = probs[prow + j] / denom;
    } else {
      probs[prow + j] = 0.0;
    }
  }
}

@compute @workgroup_size(WG)
fn attention_forward_out(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wg: vec3<u32>,
) {
  let i = gid.x;
  let t = wg.y;
  let h = wg.z;
  if (i >= p.hs) {
    return;
  }
  let kvd = p.nkv * p.hs;
  let kvo = (h / (p.nh / p.nkv)) * p.hs;
  let prow = (h * p.t + t) * p.t;
  var acc = 0.0;
  for (var j = 0u; j <= t; j++) {
    acc = fma(probs[prow + j], v[j * kvd + kvo + i], acc);
  }
  dq[t * p.nh * p.hs + h * p.hs + i] = acc;
}
