// embedding forward (gather): x[t, c] = E[tokens[t], c]  (embedding_forward; positions holds the
// token ids, dx is unused, d_embed is x: bindings are shared with the backward).
// embedding backward: dE[row_u, c] += Σ_{t ∈ positions of u} dx[t, c] for every distinct token u
// of the batch. The host groups positions by token (CSR: starts[u] .. starts[u + 1] into
// positions, rows[u] the token id), so no two threads write the same element.
//
// Shapes: dx [T, C] f32 (read), rows [U] u32 (read), starts [U + 1] u32 (read), positions [T] u32
// (read), d_embed [V, C] f32 (read_write).
// Bindings: 0 params (uniform), 1 dx, 2 rows, 3 starts, 4 positions, 5 d_embed.
// Dispatch: (ceil(C / WG), U, 1) workgroups of WG threads; forward: (ceil(C / WG), T, 1) with
// E bound as dx and U = T.
//
// Determinism: each element sums its positions in ascending order (the host sorts them); no
// atomics.

struct Params {
  c: u32,
  u: u32,
  _pad0: u32,
  _pad1: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dx: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read> starts: array<u32>;
@group(0) @binding(4) var<storage, read> positions: array<u32>;
@group(0) @binding(5) var<storage, read_write> d_embed: array<f32>;

@compute @workgroup_size(WG)
fn embedding_backward(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wg: vec3<u32>,
) {
  let c = gid.x;
  let u = wg.y;
  if (c >= p.c || u >= p.u) {
    return;
  }
  var acc = 0.0;
  for (var k = starts[u]; k < starts[u + 1u]; k++) {
    acc = acc + dx[positions[k] * p.c + c];
  }
  let o = rows[u] * p.c + c;
  d_embed[o] = d_embed[o] + acc;
}

@compute @workgroup_size(WG)
fn embedding_forward(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wg: vec3<u32>,
) {
  let c = gid.x;
  let t = wg.y;
  if (c >= p.c || t >= p.u) {
    return;
  }
  d_embed[t * p.c + c] = dx[positions[t] * p.c + c];
}
