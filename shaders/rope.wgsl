// rope: per head of a fused qkv row, optional per-head RMSNorm (qwen3 q_norm / k_norm), then
//   out[i]      = x[i] * cos[pos, i] - x[i + HS/2] * sin[pos, i]
//   out[i+HS/2] = x[i + HS/2] * cos[pos, i] + x[i] * sin[pos, i]      (HF rotate_half, i < HS/2)
// for query and key heads; value heads are copied. Queries go to q, keys and values to the KV
// cache row kv_row of the row's metadata.
//
// Shapes: qkv [rows, (NH + 2 NKV) HS] f32 (read), rows_meta [rows] vec4<u32> (token, pos, kv_row,
// kv_base) (read), cos/sin [positions, HS/2] f32 (read; computed on the host, the same tables as
// the CPU reference), q_norm/k_norm [HS] f32 (read), q [rows, NH HS] f32, k_cache/v_cache
// [capacity, NKV HS] f32 (read_write).
// Bindings: 0 run, 1 params, 2 qkv, 3 rows_meta, 4 cos, 5 sin, 6 q_norm, 7 k_norm, 8 q,
// 9 k_cache, 10 v_cache.
// Dispatch: (NH + 2 NKV, rows) workgroups of WG threads (a power-of-two override).
//
// Determinism: the norm's sum of squares is per-thread sequential then a fixed tree, one
// workgroup per (row, head); everything else is elementwise.

struct Run {
  rows: u32,
  x_row_offset: u32,
  _pad0: u32,
  _pad1: u32,
}

struct Params {
  nh: u32,
  nkv: u32,
  hs: u32,
  qk_norm: u32,
  eps: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> run: Run;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> rows_meta: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> cos_t: array<f32>;
@group(0) @binding(5) var<storage, read> sin_t: array<f32>;
@group(0) @binding(6) var<storage, read> q_norm: array<f32>;
@group(0) @binding(7) var<storage, read> k_norm: array<f32>;
@group(0) @binding(8) var<storage, read_write> q: array<f32>;
@group(0) @binding(9) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(10) var<storage, read_write> v_cache: array<f32>;

var<workgroup> partial: array<f32, WG>;

fn normed(base: u32, i: u32, inv: f32, is_q: bool) -> f32 {
  let v = qkv[base + i];
  if (p.qk_norm == 0u) {
    return v;
  }
  if (is_q) {
    return (v * inv) * q_norm[i];
  }
  return (v * inv) * k_norm[i];
}

@compute @workgroup_size(WG)
fn rope_qkv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let head = wg.x;
  let row = wg.y;
  let hs = p.hs;
  let width = (p.nh + 2u * p.nkv) * hs;
  let base = row * width + head * hs;
  let live = row < run.rows;
  var sum = 0.0;
  if (live && p.qk_norm != 0u && head < p.nh + p.nkv) {
    for (var i = tid; i < hs; i += WG) {
      let v = qkv[base + i];
      sum = fma(v, v, sum);
    }
  }
  partial[tid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (tid < s) {
      partial[tid] = partial[tid] + partial[tid + s];
    }
    workgroupBarrier();
  }
  if (!live) {
    return;
  }
  let row_info = rows_meta[row];
  let pos = row_info.y;
  let kv_row = row_info.z;
  let kv_width = p.nkv * hs;
  if (head >= p.nh + p.nkv) {
    let out = kv_row * kv_width + (head - p.nh - p.nkv) * hs;
    for (var i = tid; i < hs; i += WG) {
      v_cache[out + i] = qkv[base + i];
    }
    return;
  }
  let inv = inverseSqrt(partial[0] / f32(hs) + p.eps);
  let is_q = head < p.nh;
  let half = hs / 2u;
  for (var i = tid; i < half; i += WG) {
    let a = normed(base, i, inv, is_q);
    let b = normed(base, i + half, inv, is_q);
    let c = cos_t[pos * half + i];
    let s = sin_t[pos * half + i];
    let lo = a * c - b * s;
    let hi = b * c + a * s;
    if (is_q) {
      let out = row * p.nh * hs + head * hs;
      q[out + i] = lo;
      q[out + i + half] = hi;
    } else {
      let out = kv_row * kv_width + (head - p.nh) * hs;
      k_cache[out + i] = lo;
      k_cache[out + i + half] = hi;
    }
  }
}
