// mlp: h[r, i] = silu(gu[r, i]) * gu[r, FF + i],  silu(g) = g / (1 + exp(-g))   (SwiGLU)
//
// Shapes: gu [rows, 2 FF] f32 (read; gate_proj outputs then up_proj outputs, one fused matmul),
// h [rows, FF] f32 (read_write). Bindings: 0 run, 1 params, 2 gu, 3 h.
// Dispatch: (ceil(FF / WG), rows) workgroups of WG threads (override).
//
// Determinism: elementwise, one thread per output.

struct Run {
  rows: u32,
  x_row_offset: u32,
  _pad0: u32,
  _pad1: u32,
}

struct Params {
  ff: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> run: Run;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> gu: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;

@compute @workgroup_size(WG)
fn mlp_swiglu(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let row = gid.y;
  if (row >= run.rows || i >= p.ff) {
    return;
  }
  let g = gu[row * 2u * p.ff + i];
  let u = gu[row * 2u * p.ff + p.ff + i];
  h[row * p.ff + i] = (g / (1.0 + exp(-g))) * u;
}
