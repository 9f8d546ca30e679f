// swiglu_forward: h = silu(gate)·up (written to dgate; dh and dup unused), silu(z) = z·σ(z).
// swiglu backward of h:
//   dup = dh·gate·σ(gate);  dgate = dh·up·σ(gate)·(1 + gate·(1 − σ(gate)))
//
// Shapes: dh, gate, up [n] f32 (read); dgate, dup [n] f32 (read_write).
// Bindings: 0 params (uniform), 1 dh, 2 gate, 3 up, 4 dgate, 5 dup.
// Dispatch: (ceil(n / WG), 1, 1) workgroups of WG threads.
//
// Determinism: elementwise.

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dh: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(5) var<storage, read_write> dup: array<f32>;

@compute @workgroup_size(WG)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.n) {
    return;
  }
  let z = gate[i];
  let s = 1.0 / (1.0 + exp(-z));
  dup[i] = dh[i] * z * s;
  dgate[i] = dh[i] * up[i] * s * (1.0 + z * (1.0 - s));
}

@compute @workgroup_size(WG)
fn swiglu_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.n) {
    return;
  }
  let z = gate[i];
  dgate[i] = z / (1.0 + exp(-z)) * up[i];
}
