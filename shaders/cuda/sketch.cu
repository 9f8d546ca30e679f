// sketch: GRAIL v5 per-position sketch of each f32 hidden row (protocol spec §3.2–3.3), the CUDA
// twin of shaders/sketch.wgsl and of the protocol's CPU sketches():
//   S = indices of the k largest |h[r, j]| (ties: lower index first; NaN counts as +inf),
//   sorted ascending; sum = Σ_t bucket(h[r, S_t]) * coeff[t];  out[r] = sum mod Q (floor mod).
// bucket(x) = ±#{b in 1..7 : |x| >= T_b}, T_b = 2^(1.25 b) - 1 computed in float64 on the host and
// rounded up to float32 (so |x| >= T_b in f32 equals the float64 comparison); NaN -> 0, ±inf -> ±7,
// and |x| < 1e-6 falls below T_1 = 1.378 anyway (the dead zone needs no test of its own).
//
// Shapes: h [rows, C] f32 (read), params [SKETCH_THRESHOLDS + k] u32 (read: the thresholds' f32
// bit patterns, ascending, then the k coefficients as i32; k <= SKETCH_MAX_K), out [rows] u32.
// Launch: rows blocks of SKETCH_THREADS threads.
//
// Determinism: every comparison is on integers. An entry's rank key is (|x| bits << 32) | ~index,
// so a larger key ranks first and equal magnitudes rank by lower index; selection is k rounds of
// a block-wide max over keys below the previous pick, each a fixed shuffle tree. A thread's best
// available key changes only when the block picked it, so only the winning thread rescans its
// strided elements. The sum is an exact integer (|sum| <= 32 * 7 * 128).

#define SKETCH_THREADS 128
#define SKETCH_MAX_K 32
#define SKETCH_THRESHOLDS 7
#define SKETCH_PRIME_Q 2147483647

// |x| as ordered bits; NaN patterns clamp to +inf's, as in the protocol's selectTopkF32.
__device__ __forceinline__ unsigned int sketch_magnitude(float x) {
  const unsigned int a = __float_as_uint(x) & 0x7fffffffu;
  return a > 0x7f800000u ? 0x7f800000u : a;
}

__device__ __forceinline__ unsigned long long sketch_key(float x, unsigned int i) {
  return ((unsigned long long)sketch_magnitude(x) << 32) | (unsigned long long)(0xffffffffu - i);
}

// Best key of this thread's elements i = tid, tid + SKETCH_THREADS, ... that rank below `limit`
// (0 when none: every real key is > 0 since index < 2^32 - 1).
__device__ __forceinline__ unsigned long long sketch_best_below(const float* row, int C,
                                                                unsigned long long limit) {
  unsigned long long best = 0ull;
  for (int i = threadIdx.x; i < C; i += SKETCH_THREADS) {
    const unsigned long long key = sketch_key(row[i], (unsigned int)i);
    if (key < limit && key > best) best = key;
  }
  return best;
}

__device__ __forceinline__ unsigned long long sketch_warp_max(unsigned long long v) {
  for (int o = 16; o > 0; o >>= 1) {
    const unsigned long long w = __shfl_xor_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return v;
}

__device__ __forceinline__ int sketch_bucket(float x, const unsigned int* thresholds) {
  const unsigned int bits = __float_as_uint(x);
  const unsigned int a = bits & 0x7fffffffu;
  if (a > 0x7f800000u) return 0;
  int m = 0;
  for (int b = 0; b < SKETCH_THRESHOLDS; b++) m += a >= thresholds[b] ? 1 : 0;
  return (bits & 0x80000000u) ? -m : m;
}

extern "C" __global__ void sketch_rows(const float* h, const unsigned int* params,
                                       unsigned int* out, int C, int k) {
  __shared__ unsigned long long warp_best[SKETCH_THREADS / 32];
  __shared__ unsigned int chosen[SKETCH_MAX_K];
  const float* row = h + (size_t)blockIdx.x * C;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const unsigned long long all = ~0ull;
  unsigned long long mine = sketch_best_below(row, C, all);
  for (int round = 0; round < k; round++) {
    const unsigned long long wmax = sketch_warp_max(mine);
    if (lane == 0) warp_best[warp] = wmax;
    __syncthreads();
    unsigned long long pick = warp_best[0];
    for (int w = 1; w < SKETCH_THREADS / 32; w++) pick = warp_best[w] > pick ? warp_best[w] : pick;
    __syncthreads();
    if (threadIdx.x == 0) chosen[round] = 0xffffffffu - (unsigned int)(pick & 0xffffffffull);
    // Keys are unique (they hold the index), so exactly one thread owned the pick.
    if (mine == pick) mine = sketch_best_below(row, C, pick);
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  // v5: the chosen indices in ascending order.
  for (int i = 1; i < k; i++) {
    const unsigned int v = chosen[i];
    int j = i;
    while (j > 0 && chosen[j - 1] > v) {
      chosen[j] = chosen[j - 1];
      j--;
    }
    chosen[j] = v;
  }
  const int* coeffs = reinterpret_cast<const int*>(params + SKETCH_THRESHOLDS);
  int sum = 0;
  for (int t = 0; t < k; t++) sum += sketch_bucket(row[chosen[t]], params) * coeffs[t];
  out[blockIdx.x] = (unsigned int)(sum < 0 ? sum + SKETCH_PRIME_Q : sum);
}
