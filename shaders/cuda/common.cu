// common: the activation type of a build and bf16 <-> f32 conversion, prepended to every family.
//
// NVRTC runs with no include path, so bf16 is a raw `unsigned short` (the upper 16 bits of an
// IEEE f32) and conversion is explicit: f32 -> bf16 rounds to nearest, ties to even (what
// PyTorch's `.to(torch.bfloat16)` and cuBLAS's bf16 epilogue do); NaN stays a quiet NaN.
// A build defines ACT_BF16 (bf16 weights and activations, f32 math: the reference miners' numerics)
// or not (f32 everywhere). rnd(x) is the rounding HF applies when an op's bf16 output is stored;
// in the f32 build it is the identity.

typedef unsigned short bf16_t;

// -inf without math.h (NVRTC has no include path).
#define NEG_INF __int_as_float(0xff800000)

__device__ __forceinline__ float bf16_to_f32(bf16_t h) {
  return __uint_as_float(((unsigned int)h) << 16);
}

__device__ __forceinline__ bf16_t f32_to_bf16(float f) {
  unsigned int u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (bf16_t)(u >> 16);
}

// ld2/st2 move two adjacent activations with one access (p must be 2-element aligned).
#ifdef ACT_BF16
typedef bf16_t act_t;
__device__ __forceinline__ float ld(act_t v) { return bf16_to_f32(v); }
__device__ __forceinline__ act_t st(float f) { return f32_to_bf16(f); }
__device__ __forceinline__ float rnd(float f) { return bf16_to_f32(f32_to_bf16(f)); }
__device__ __forceinline__ float2 ld2(const act_t* p) {
  const unsigned int u = *reinterpret_cast<const unsigned int*>(p);
  return make_float2(__uint_as_float(u << 16), __uint_as_float(u & 0xffff0000u));
}
__device__ __forceinline__ void st2(act_t* p, float a, float b) {
  *reinterpret_cast<unsigned int*>(p) =
      (unsigned int)f32_to_bf16(a) | ((unsigned int)f32_to_bf16(b) << 16);
}
#else
typedef float act_t;
__device__ __forceinline__ float ld(act_t v) { return v; }
__device__ __forceinline__ act_t st(float f) { return f; }
__device__ __forceinline__ float rnd(float f) { return f; }
__device__ __forceinline__ float2 ld2(const act_t* p) {
  return *reinterpret_cast<const float2*>(p);
}
__device__ __forceinline__ void st2(act_t* p, float a, float b) {
  *reinterpret_cast<float2*>(p) = make_float2(a, b);
}
#endif

// Sum over a block in one fixed order: per-warp xor butterfly (symmetric, so every lane gets the
// same bits), then warp 0 folds the warp sums in ascending order. blockDim.x: a multiple of 32.
__device__ __forceinline__ float block_sum(float v, float* shared32) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();
  if (lane == 0) shared32[warp] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    float s = shared32[0];
    for (int w = 1; w < (int)(blockDim.x >> 5); w++) s += shared32[w];
    shared32[32] = s;
  }
  __syncthreads();
  return shared32[32];
}
