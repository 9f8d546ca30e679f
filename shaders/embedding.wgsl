// embedding: x[r, :] = table[token[r] - v_start, :]   for rows whose token lies in this chunk
//
// Shapes: rows_meta [rows] vec4<u32> (token, pos, kv_row, kv_base) (read), table [v_count, C] WT
// (read; one vocabulary chunk of the embedding, split to fit the storage-binding limit),
// x [rows, C] f32 (read_write). Bindings: 0 run, 1 params, 2 rows_meta, 3 table, 4 x.
// Dispatch: (ceil(C / WG), rows) workgroups of WG threads (override); once per vocabulary chunk.
// The host prepends the element type WT (f32, or f16 with `enable f16`).
//
// Determinism: a copy (with an exact f16 -> f32 widening); each element written by one thread.

struct Run {
  rows: u32,
  x_row_offset: u32,
  _pad0: u32,
  _pad1: u32,
}

struct Params {
  c: u32,
  v_start: u32,
  v_count: u32,
  _pad0: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> run: Run;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> rows_meta: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> table: array<WT>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(WG)
fn embedding_gather(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let row = gid.y;
  if (row >= run.rows || i >= p.c) {
    return;
  }
  let token = rows_meta[row].x;
  if (token < p.v_start || token >= p.v_start + p.v_count) {
    return;
  }
  x[row * p.c + i] = f32(table[(token - p.v_start) * p.c + i]);
}
