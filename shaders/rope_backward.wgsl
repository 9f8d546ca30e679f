// rope forward and backward: with s = sign·sin[t, i] (HF rotate_half, i < HS/2)
//   g[i] ← g[i]·cos[t, i] − g[i + HS/2]·s;   g[i + HS/2] ← g[i + HS/2]·cos[t, i] + g[i]·s
// in place on g [T, heads, HS]. sign = +1 is the forward rotation of q or k; RoPE is a rotation,
// so its backward is the inverse rotation (sign = −1) applied to the gradient.
//
// Shapes: cos/sin [T, HS/2] f32 (read; the host tables of src/model/rope.ts, as the forward),
// g [T, heads, HS] f32 (read_write).
// Bindings: 0 params (uniform), 1 cos, 2 sin, 3 g.
// Dispatch: (ceil(T·heads·HS/2 / WG), 1, 1) workgroups of WG threads.
//
// Determinism: elementwise.

struct Params {
  t: u32,
  heads: u32,
  hs: u32,
  sign: f32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> cos_t: array<f32>;
@group(0) @binding(2) var<storage, read> sin_t: array<f32>;
@group(0) @binding(3) var<storage, read_write> g: array<f32>;

@compute @workgroup_size(WG)
fn rope_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let half = p.hs / 2u;
  let idx = gid.x;
  if (idx >= p.t * p.heads * half) {
    return;
  }
  let i = idx % half;
  let th = idx / half; // t·heads + h
  let t = th / p.heads;
  let base = th * p.hs;
  let c = cos_t[t * half + i];
  let s = p.sign * sin_t[t * half + i];
  let a = g[base + i];
  let b = g[base + i + half];
  g[base + i] = a * c - b * s;
  g[base + i + half] = b * c + a * s;
}
