// rope: per head of a fused qkv row: the linear's bias and rounding, HF's optional per-head
// RMSNorm (qwen3 q_norm / k_norm), then rotary embedding in HF's rotate_half form,
//   out[i]      = rnd(rnd(a[i] * c[i]) + rnd(-a[i + HS/2] * s[i]))
//   out[i+HS/2] = rnd(rnd(a[i + HS/2] * c[i]) + rnd(a[i] * s[i]))     (i < HS/2)
// with c = rnd(cos[pos, i]), s = rnd(sin[pos, i]) (HF casts the tables to the activation dtype).
// Query heads go to q; key heads (rotated) and value heads (copied) go to the KV cache row.
//
// Shapes: qkv [rows, (NH + 2 NKV) HS] f32 (read; the GEMM's f32 result), bias [(NH + 2 NKV) HS]
// f32 (read, when has_bias), q_norm/k_norm [HS] f32 (read, when qk_norm), cos/sin [positions,
// HS/2] f32 (read; the host's tables, shared with the CPU reference), rows_meta [rows] int2
// (pos, kv_row) (read), q [rows, NH HS] act (write), k_cache/v_cache [capacity, NKV HS] act
// (write).
// Launch: (ceil((NH + 2 NKV) / ROPE_WARPS), rows) blocks of ROPE_THREADS threads; one warp per
// (row, head).
//
// Determinism: the norm's sum of squares is per-lane sequential then a symmetric xor butterfly,
// one warp per (row, head); the rest is elementwise.

#define ROPE_THREADS 256
#define ROPE_WARPS (ROPE_THREADS / 32)

extern "C" __global__ void rope_qkv(const float* qkv, const float* bias, const float* q_norm,
                                    const float* k_norm, const float* cos_t, const float* sin_t,
                                    const int* rows_meta, act_t* q, act_t* k_cache,
                                    act_t* v_cache, int NH, int NKV, int HS, int has_bias,
                                    int qk_norm, float eps) {
  const int lane = threadIdx.x & 31;
  const int head = blockIdx.x * ROPE_WARPS + (threadIdx.x >> 5);
  const int row = blockIdx.y;
  if (head >= NH + 2 * NKV) return;  // whole warps: no block-level barrier below
  const int width = (NH + 2 * NKV) * HS;
  const size_t base = (size_t)row * width + (size_t)head * HS;
  const float* b = bias + (size_t)head * HS;
  const int pos = rows_meta[2 * row];
  const size_t kv_row = (size_t)rows_meta[2 * row + 1];
  const int kv_width = NKV * HS;
  if (head >= NH + NKV) {
    act_t* out = v_cache + kv_row * kv_width + (size_t)(head - NH - NKV) * HS;
    for (int i = lane; i < HS; i += 32) {
      out[i] = st(has_bias ? qkv[base + i] + b[i] : qkv[base + i]);
    }
    return;
  }
  const bool is_q = head < NH;
  float inv = 0.0f;
  if (qk_norm) {
    float ss = 0.0f;
    for (int i = lane; i < HS; i += 32) {
      const float v = rnd(has_bias ? qkv[base + i] + b[i] : qkv[base + i]);
      ss = fmaf(v, v, ss);
    }
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    inv = rsqrtf(ss / (float)HS + eps);
  }
  const float* w = is_q ? q_norm : k_norm;
  act_t* out = is_q ? q + (size_t)row * NH * HS + (size_t)head * HS
                    : k_cache + kv_row * kv_width + (size_t)(head - NH) * HS;
  const int half = HS / 2;
  for (int i = lane; i < half; i += 32) {
    float a = rnd(has_bias ? qkv[base + i] + b[i] : qkv[base + i]);
    float z = rnd(has_bias ? qkv[base + i + half] + b[i + half] : qkv[base + i + half]);
    if (qk_norm) {
      a = rnd(w[i] * rnd(a * inv));
      z = rnd(w[i + half] * rnd(z * inv));
    }
    const float c = rnd(cos_t[(size_t)pos * half + i]);
    const float s = rnd(sin_t[(size_t)pos * half + i]);
    out[i] = st(rnd(a * c) + rnd(-z * s));
    out[i + half] = st(rnd(z * c) + rnd(a * s));
  }
}
