// sample_topm: per logits row, the M largest logits (the candidates a sampler needs), the (M+1)-th
// largest value rho (every id left out has a logit <= rho), and the raw logits of a list of ids
// (the ids a repetition penalty changes). The host then decides the token from these alone, or
// reads the full row when they cannot decide it (see src/model/sampling.ts).
//
// Order: logits compare as float32 numbers (-0 == +0); NaN and ids >= limit rank below every
// number (the host treats them as -Infinity). Among equal values the lower id ranks higher, so the
// M kept are exactly torch.topk's set under "lowest id wins ties", whatever the GPU.
//
// Shapes: logits [rows, V] f32 (read); seen [rows, G] u32 ids (read); seen_count [rows] u32
// (read); top [rows, 2M + 3] u32 (read_write): M ids, their M logits (f32 bits; -Infinity for
// NaN / past the limit), rho (f32 bits), how many of the M rank strictly above rho, and how many
// NaN logits the row holds (the host then needs the full row); gathered
// [rows, G] f32 (read_write): logits[row, seen[row, j]] for j < seen_count[row].
// Bindings: 0 params, 1 logits, 2 seen, 3 seen_count, 4 top, 5 gathered.
// Dispatch: (rows, 1, 1) workgroups of WG threads.
//
// Method (exact, deterministic): map each logit to a u32 key whose unsigned order is the order
// above; thread t owns ids [t*chunk, (t+1)*chunk). A bound tau from the chunk maxima leaves, in
// the usual case, a few hundred ids with key >= tau that hold the answer; they are copied to
// workgroup memory in id order (3 passes over the row in all). Then radix-select the key T of the
// (M+1)-th largest (4 rounds of 8 bits, a 256-bin histogram each) and give each kept id its slot:
// ids with key > T in id order, then the lowest-id ties of T up to M. When more than CAP ids reach
// tau (a row of many equal logits) or M + 1 > WG, the same select and placement run over the row
// itself (per-thread counts and an exclusive scan keep id order). The M come out in slot order;
// the host sorts them if it needs ranks.

struct Params {
  v: u32,
  limit: u32,
  m: u32,
  g: u32,
}

override WG: u32 = 256u;
const BINS: u32 = 256u;
const NEG_INF_BITS: u32 = 0xff800000u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> seen: array<u32>;
@group(0) @binding(3) var<storage, read> seen_count: array<u32>;
@group(0) @binding(4) var<storage, read_write> top: array<u32>;
@group(0) @binding(5) var<storage, read_write> gathered: array<f32>;

var<workgroup> hist: array<atomic<u32>, BINS>;
var<workgroup> gt_count: array<u32, WG>;
var<workgroup> eq_count: array<u32, WG>;
var<workgroup> nan_count: atomic<u32>;
var<workgroup> sel: vec2<u32>; // (prefix, remaining rank within the prefix)
var<workgroup> tau_s: u32;
var<workgroup> n_cand: u32;
// Ids with key >= tau, in id order, when there are at most CAP of them (the usual case).
const CAP: u32 = 1024u;
var<workgroup> cand_key: array<u32, CAP>;
var<workgroup> cand_id: array<u32, CAP>;

// NaN by its bits: WGSL lets compilers assume float comparisons never meet a NaN.
fn is_nan_bits(b: u32) -> bool {
  return (b & 0x7fffffffu) > 0x7f800000u;
}

// Unsigned order = float order; 0 for NaN and ids past the limit; -0 maps like +0.
fn key_of(x: f32, id: u32) -> u32 {
  let b = bitcast<u32>(x);
  if (id >= p.limit || is_nan_bits(b)) {
    return 0u;
  }
  if (b == 0x80000000u) {
    return 0x80000000u;
  }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

@compute @workgroup_size(WG)
fn sample_topm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x;
  let base = row * p.v;
  let chunk = (p.v + WG - 1u) / WG;
  let lo = min(tid * chunk, p.v);
  let hi = min(lo + chunk, p.v);
  let stride = 2u * p.m + 3u;
  let out = row * stride;
  if (tid == 0u) {
    sel = vec2<u32>(0u, p.m + 1u);
    atomicStore(&nan_count, 0u);
  }
  // Pass 1: each chunk's largest key, and the row's NaNs.
  var mx = 0u;
  var nans = 0u;
  for (var i = lo; i < hi; i++) {
    let x = logits[base + i];
    mx = max(mx, key_of(x, i));
    nans += select(0u, 1u, is_nan_bits(bitcast<u32>(x)));
  }
  gt_count[tid] = mx;
  workgroupBarrier();
  atomicAdd(&nan_count, nans);
  // tau: the (M+1)-th largest chunk maximum. Those M+1 maxima are distinct ids with keys >= tau,
  // so the (M+1)-th largest key of the row, and every tie of it, is >= tau: selecting among the
  // ids with key >= tau selects among the row. (Ranks of the maxima: by key, then thread.)
  if (p.m + 1u <= WG) {
    var rank = 0u;
    for (var u = 0u; u < WG; u++) {
      let o = gt_count[u];
      rank += select(0u, 1u, o > mx || (o == mx && u < tid));
    }
    if (rank == p.m) {
      tau_s = mx;
    }
  }
  workgroupBarrier();
  let tau = workgroupUniformLoad(&tau_s);
  var above = 0u;
  if (p.m + 1u <= WG) {
    for (var i = lo; i < hi; i++) {
      above += select(0u, 1u, key_of(logits[base + i], i) >= tau);
    }
  }
  eq_count[tid] = above;
  workgroupBarrier();
  if (tid == 0u) {
    var a = 0u;
    for (var j = 0u; j < WG; j++) {
      let x = eq_count[j];
      eq_count[j] = a;
      a += x;
    }
    n_cand = a;
  }
  let n = workgroupUniformLoad(&n_cand);
  // Few enough: copy them, in id order, to workgroup memory and select there. Else (a row of
  // many equal logits, or M + 1 > WG) select over the row itself.
  let fast = p.m + 1u <= WG && n <= CAP;
  if (fast) {
    var at = eq_count[tid];
    for (var i = lo; i < hi; i++) {
      let k = key_of(logits[base + i], i);
      if (k >= tau) {
        cand_key[at] = k;
        cand_id[at] = i;
        at++;
      }
    }
  }
  workgroupBarrier();
  var mask = 0u;
  for (var round = 0u; round < 4u; round++) {
    let shift = 24u - 8u * round;
    for (var j = tid; j < BINS; j += WG) {
      atomicStore(&hist[j], 0u);
    }
    workgroupBarrier();
    let prefix = workgroupUniformLoad(&sel).x;
    if (fast) {
      for (var j = tid; j < n; j += WG) {
        let k = cand_key[j];
        if ((k & mask) == prefix) {
          atomicAdd(&hist[(k >> shift) & 0xffu], 1u);
        }
      }
    } else {
      for (var i = lo; i < hi; i++) {
        let k = key_of(logits[base + i], i);
        if ((k & mask) == prefix) {
          atomicAdd(&hist[(k >> shift) & 0xffu], 1u);
        }
      }
    }
    workgroupBarrier();
    if (tid == 0u) {
      var need = sel.y;
      var d = BINS;
      loop {
        d--;
        let c = atomicLoad(&hist[d]);
        if (c >= need || d == 0u) {
          break;
        }
        need -= c;
      }
      sel = vec2<u32>(sel.x | (d << shift), need);
    }
    workgroupBarrier();
    mask |= 0xffu << shift;
  }
  let s = workgroupUniformLoad(&sel);
  let t = s.x;
  // The (M+1)-th is the s.y-th tie of T in id order: the first s.y - 1 ties are kept.
  let ties = s.y - 1u;
  let n_gt = p.m - ties;
  if (fast) {
    // At most CAP candidates, in id order: one thread places them.
    if (tid == 0u) {
      var gt = 0u;
      var eq = 0u;
      for (var j = 0u; j < n; j++) {
        let k = cand_key[j];
        var slot = p.m;
        if (k > t) {
          slot = gt;
          gt++;
        } else if (k == t) {
          if (eq < ties) {
            slot = n_gt + eq;
          }
          eq++;
        }
        if (slot < p.m) {
          let i = cand_id[j];
          top[out + slot] = i;
          top[out + p.m + slot] = select(bitcast<u32>(logits[base + i]), NEG_INF_BITS, k == 0u);
        }
      }
    }
  } else {
    var gt = 0u;
    var eq = 0u;
    for (var i = lo; i < hi; i++) {
      let k = key_of(logits[base + i], i);
      gt += select(0u, 1u, k > t);
      eq += select(0u, 1u, k == t);
    }
    gt_count[tid] = gt;
    eq_count[tid] = eq;
  }
  workgroupBarrier();
  if (!fast) {
    if (tid == 0u) {
      // Exclusive scans, in thread (= id) order.
      var a = 0u;
      var b = 0u;
      for (var j = 0u; j < WG; j++) {
        let x = gt_count[j];
        let y = eq_count[j];
        gt_count[j] = a;
        eq_count[j] = b;
        a += x;
        b += y;
      }
    }
  }
  workgroupBarrier();
  if (!fast) {
    var at_gt = gt_count[tid];
    var at_eq = eq_count[tid];
    for (var i = lo; i < hi; i++) {
      let x = logits[base + i];
      let k = key_of(x, i);
      var slot = p.m;
      if (k > t) {
        slot = at_gt;
        at_gt++;
      } else if (k == t) {
        if (at_eq < ties) {
          slot = n_gt + at_eq;
        }
        at_eq++;
      }
      if (slot < p.m) {
        top[out + slot] = i;
        top[out + p.m + slot] = select(bitcast<u32>(x), NEG_INF_BITS, k == 0u);
      }
    }
  }
  if (tid == 0u) {
    // rho: the (M+1)-th value; -Infinity when only excluded ids are left.
    var rho = NEG_INF_BITS;
    if (t != 0u) {
      rho = select(t & 0x7fffffffu, ~t, (t & 0x80000000u) == 0u);
    }
    top[out + 2u * p.m] = rho;
    top[out + 2u * p.m + 1u] = n_gt;
    top[out + 2u * p.m + 2u] = atomicLoad(&nan_count);
  }
  let count = min(seen_count[row], p.g);
  for (var j = tid; j < count; j += WG) {
    gathered[row * p.g + j] = logits[base + min(seen[row * p.g + j], p.v - 1u)];
  }
}

// sample_feed: greedy decoding without the host. Per row, the argmax of the M candidates that
// sample_topm left in `top` (largest logit, lowest id among equals: with no repetition penalty
// this is the full row's argmax, as an id outside the M ranks below every candidate holding the
// same value); it becomes the token the next step embeds (`next`) and is logged at slot
// log_offset + row with bit 31 set when the row held a NaN logit (the host then redoes the
// generation with full rows: NaN breaks the CPU argmax's order).
// Bindings: 0 feed params, 1 top (read), 2 next (read_write), 3 log (read_write).
// Dispatch: (ceil(rows / WG), 1, 1) workgroups of WG threads, one row each.

struct Feed {
  rows: u32,
  m: u32,
  log_offset: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> fp: Feed;
@group(0) @binding(1) var<storage, read> feed_top: array<u32>;
@group(0) @binding(2) var<storage, read_write> next: array<u32>;
@group(0) @binding(3) var<storage, read_write> feed_log: array<u32>;

@compute @workgroup_size(WG)
fn sample_feed(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= fp.rows) {
    return;
  }
  let out = row * (2u * fp.m + 3u);
  var best = feed_top[out];
  var best_v = bitcast<f32>(feed_top[out + fp.m]);
  for (var j = 1u; j < fp.m; j++) {
    let id = feed_top[out + j];
    let v = bitcast<f32>(feed_top[out + fp.m + j]);
    if (v > best_v || (v == best_v && id < best)) {
      best = id;
      best_v = v;
    }
  }
  next[row] = best;
  let nan = select(0u, 0x80000000u, feed_top[out + 2u * fp.m + 2u] != 0u);
  feed_log[fp.log_offset + row] = best | nan;
}
