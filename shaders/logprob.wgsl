// logprob: lse = log(sum_v exp(logits[r, v]));  out[r] = (logits[r, target] - lse,
//          exp(logits[r, eos] - lse))   — the log-softmax at one token and one probability, without
// materialising the softmax. Full logits exist only for the current block of rows.
//
// Shapes: logits [rows, V] f32 (read), targets [offset + rows] vec2<u32> (target, eos) (read;
// NONE = 0xffffffff skips), out [offset + rows] vec2<f32> (read_write; NaN where skipped).
// Bindings: 0 run (rows, x_row_offset = offset of this block in targets/out), 1 params, 2 logits,
// 3 targets, 4 out.
// Dispatch: (rows, 1, 1) workgroups of WG threads (a power-of-two override).
//
// Determinism: one workgroup per row; thread t folds v = t, t + WG, ... into an online
// (max, sum of exp) pair in order, then a fixed binary tree merges the pairs.

struct Run {
  rows: u32,
  x_row_offset: u32,
  _pad0: u32,
  _pad1: u32,
}

struct Params {
  v: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

const NONE: u32 = 0xffffffffu;
const NEG: f32 = -3.0e38;

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> run: Run;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec2<f32>>;

var<workgroup> m_s: array<f32, WG>;
var<workgroup> s_s: array<f32, WG>;

@compute @workgroup_size(WG)
fn logprob_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x;
  let base = row * p.v;
  var m = NEG;
  var s = 0.0;
  if (row < run.rows) {
    for (var i = tid; i < p.v; i += WG) {
      let x = logits[base + i];
      if (x > m) {
        s = s * exp(m - x) + 1.0;
        m = x;
      } else {
        s = s + exp(x - m);
      }
    }
  }
  m_s[tid] = m;
  s_s[tid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k / 2u) {
    if (tid < k) {
      let m1 = m_s[tid];
      let m2 = m_s[tid + k];
      let mm = max(m1, m2);
      s_s[tid] = s_s[tid] * exp(m1 - mm) + s_s[tid + k] * exp(m2 - mm);
      m_s[tid] = mm;
    }
    workgroupBarrier();
  }
  if (row >= run.rows || tid != 0u) {
    return;
  }
  let lse = m_s[0] + log(s_s[0]);
  let t = targets[run.x_row_offset + row];
  var r = vec2<f32>(0.0);
  // NaN marks "not requested"; the host never reads it.
  let nan = bitcast<f32>(0x7fc00000u);
  let tx = min(t.x, p.v - 1u);
  let ty = min(t.y, p.v - 1u);
  r.x = select(nan, logits[base + tx] - lse, t.x != NONE);
  r.y = select(nan, exp(logits[base + ty] - lse), t.y != NONE);
  out[run.x_row_offset + row] = r;
}
