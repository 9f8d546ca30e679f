// rmsnorm: y[r, i] = rnd(w[i] * rnd(x[r, i] * rsqrt(mean_i(x[r, i]^2) + eps)))   (HF order:
// normalise in f32, cast to the activation dtype, then scale by the weight).
// rmsnorm_residual first adds the block output: x[r, i] = rnd(x[r, i] + d[r, i]) (HF's bf16
// residual add, stored back to x), then normalises x; with y32 != 0 it also writes y as f32
// (the final hidden state the host reads).
//
// Shapes: x [rows, C] act (read; rmsnorm_residual: read-write), d [rows, C] act (read),
// w [C] f32 (read), y [rows, C] act (write), y32 [rows, C] f32 (write, optional).
// Launch: rows blocks of NORM_THREADS threads.
//
// Determinism: one block per row; each thread sums its elements in order, then block_sum's fixed
// tree. The order depends on C only, never on the batch.

#define NORM_THREADS 256

// Even C (every real model): thread t owns the element pairs 2t, 2t + 2 NORM_THREADS, ... and
// moves each pair with one access; odd C: one element at a time. Same order per C either way.

__device__ __forceinline__ void rmsnorm_row(act_t* x, const float* w, act_t* y, float* y32,
                                            int C, float eps, float ss) {
  __shared__ float shared[33];
  const float total = block_sum(ss, shared);
  const float inv = rsqrtf(total / (float)C + eps);
  if ((C & 1) == 0) {
    for (int i = 2 * threadIdx.x; i < C; i += 2 * NORM_THREADS) {
      const float2 v = ld2(x + i);
      const float a = rnd(w[i] * rnd(v.x * inv)), b = rnd(w[i + 1] * rnd(v.y * inv));
      st2(y + i, a, b);
      if (y32) *reinterpret_cast<float2*>(y32 + i) = make_float2(a, b);
    }
    return;
  }
  for (int i = threadIdx.x; i < C; i += NORM_THREADS) {
    const float v = rnd(w[i] * rnd(ld(x[i]) * inv));
    y[i] = st(v);
    if (y32) y32[i] = v;
  }
}

extern "C" __global__ void rmsnorm_rows(act_t* x, const float* w, act_t* y, int C, float eps) {
  const size_t base = (size_t)blockIdx.x * C;
  float ss = 0.0f;
  if ((C & 1) == 0) {
    for (int i = 2 * threadIdx.x; i < C; i += 2 * NORM_THREADS) {
      const float2 v = ld2(x + base + i);
      ss = fmaf(v.x, v.x, ss);
      ss = fmaf(v.y, v.y, ss);
    }
  } else {
    for (int i = threadIdx.x; i < C; i += NORM_THREADS) {
      const float v = ld(x[base + i]);
      ss = fmaf(v, v, ss);
    }
  }
  rmsnorm_row(x + base, w, y + base, 0, C, eps, ss);
}

extern "C" __global__ void rmsnorm_residual(act_t* x, const act_t* d, const float* w, act_t* y,
                                            float* y32, int C, float eps) {
  const size_t base = (size_t)blockIdx.x * C;
  float ss = 0.0f;
  if ((C & 1) == 0) {
    for (int i = 2 * threadIdx.x; i < C; i += 2 * NORM_THREADS) {
      const float2 a = ld2(x + base + i), b = ld2(d + base + i);
      const float s0 = rnd(a.x + b.x), s1 = rnd(a.y + b.y);
      st2(x + base + i, s0, s1);
      ss = fmaf(s0, s0, ss);
      ss = fmaf(s1, s1, ss);
    }
  } else {
    for (int i = threadIdx.x; i < C; i += NORM_THREADS) {
      const act_t s = st(ld(x[base + i]) + ld(d[base + i]));
      x[base + i] = s;
      const float v = ld(s);
      ss = fmaf(v, v, ss);
    }
  }
  rmsnorm_row(x + base, w, y + base, y32 ? y32 + base : 0, C, eps, ss);
}
