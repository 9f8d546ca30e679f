// logprob: lse = log(sum_v exp(logits[r, v]));  out[r] = (logits[r, target] - lse,
//          exp(logits[r, eos] - lse))   — the log-softmax at one token and the EOS probability,
// without materialising the softmax. Full logits exist only for the current chunk of rows.
//
// Shapes: logits [rows, V] f32 (read), targets [rows] int2 (target, eos; -1 skips) (read),
// out [rows] float2 (write; NaN where skipped).
// Launch: rows blocks of LOGPROB_THREADS threads.
//
// Determinism: one block per row; thread t folds its elements (quads t, t + LOGPROB_THREADS, ...
// when V % 4 == 0, else single elements) into an online (max, sum of exp) pair in order; a symmetric xor butterfly merges pairs inside a warp, then
// thread 0 folds the warps in ascending order.

#define LOGPROB_THREADS 256

__device__ __forceinline__ void lse_merge(float& m, float& s, float m2, float s2) {
  const float mm = fmaxf(m, m2);
  s = (m == NEG_INF ? 0.0f : s * expf(m - mm)) + (m2 == NEG_INF ? 0.0f : s2 * expf(m2 - mm));
  m = mm;
}

__device__ __forceinline__ void lse_push(float& m, float& s, float v) {
  if (v > m) {
    s = (m == NEG_INF ? 0.0f : s * expf(m - v)) + 1.0f;
    m = v;
  } else {
    s += expf(v - m);
  }
}

extern "C" __global__ void logprob_rows(float* out, const float* logits, const int* targets,
                                        int V) {
  __shared__ float ms[32], ss[32];
  const int row = blockIdx.x;
  const float* x = logits + (size_t)row * V;
  float m = NEG_INF, s = 0.0f;
  if ((V & 3) == 0) {
    // Rows start 16-byte aligned: thread t folds the quads t, t + LOGPROB_THREADS, ... in order.
    const float4* x4 = reinterpret_cast<const float4*>(x);
    for (int i = threadIdx.x; i < V / 4; i += LOGPROB_THREADS) {
      const float4 q = x4[i];
      lse_push(m, s, q.x);
      lse_push(m, s, q.y);
      lse_push(m, s, q.z);
      lse_push(m, s, q.w);
    }
  } else {
    for (int i = threadIdx.x; i < V; i += LOGPROB_THREADS) lse_push(m, s, x[i]);
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float m2 = __shfl_xor_sync(0xffffffffu, m, o);
    const float s2 = __shfl_xor_sync(0xffffffffu, s, o);
    lse_merge(m, s, m2, s2);
  }
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) {
    ms[warp] = m;
    ss[warp] = s;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  m = ms[0];
  s = ss[0];
  for (int w = 1; w < LOGPROB_THREADS / 32; w++) lse_merge(m, s, ms[w], ss[w]);
  const float lse = m + logf(s);
  const int t = targets[2 * row], e = targets[2 * row + 1];
  out[2 * row] = t >= 0 ? x[t] - lse : __int_as_float(0x7fc00000);
  out[2 * row + 1] = e >= 0 ? expf(x[e] - lse) : __int_as_float(0x7fc00000);
}
