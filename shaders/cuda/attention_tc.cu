// attention_tc: the same causal GQA attention as attention.cu for the bf16 build, on tensor cores
// (mma.sync m16n8k16, bf16 inputs, f32 accumulation) in the flash-attention form:
//   S = Q Kᵀ / sqrt(HS) per key tile, online softmax in f32, P rounded to bf16, O += P V.
// The bf16 P is what the reference's SDPA flash kernels feed their P·V product.
//
// Shapes: as attention.cu (q [rows, NH HS] bf16, k_cache/v_cache [capacity, NKV HS] bf16,
// blocks [n_blocks] int4 (first_row, count, kv_base, first_pos) with count <= TC_QB, att [rows,
// NH HS] bf16). Launch: (n_blocks, NH) blocks of TC_WARPS * 32 threads; warp w owns queries
// 16w .. 16w + 15 of its block; key/value tiles of TC_KT keys are shared in shared memory.
//
// Fragment layouts (PTX ISA, mma.m16n8k16 with .bf16): lane l holds rows l/4 and l/4 + 8 and
// columns 2 (l % 4) + {0, 1} (+ 8) of A; column l/4 and rows 2 (l % 4) + {0, 1} (+ 8) of B;
// rows l/4, l/4 + 8 and columns 2 (l % 4) + {0, 1} of C.
//
// Determinism and batch invariance: a query row's S comes from the fixed k-order of the mma
// chain over HS; its tile max and sum are a fixed local order then a symmetric butterfly over
// the 4 lanes sharing the row; tiles are aligned to the sequence start and visited in order.
// Keys beyond a row's position get p = 0 exactly, and a tile wholly beyond it leaves m, l and O
// unchanged (corr = 1, O + 0·V = O), so which rows share a warp or block never changes a row's
// bits, and a single generation query reproduces the proof forward's row.

#ifdef ACT_BF16

#define TC_WARPS 4
#define TC_QB (TC_WARPS * 16)
#define TC_KT 64

__device__ __forceinline__ void mma_bf16(float* d, const unsigned int* a, unsigned int b0,
                                         unsigned int b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ unsigned int pack_bf16(float lo, float hi) {
  return (unsigned int)f32_to_bf16(lo) | ((unsigned int)f32_to_bf16(hi) << 16);
}

template <int HS>
__device__ __forceinline__ void attention_tc_body(const bf16_t* q, const bf16_t* k_cache,
                                                  const bf16_t* v_cache, const int* blocks,
                                                  bf16_t* att, int NH, int NKV, float scale) {
  constexpr int KS = HS + 8;  // padded rows (16 bytes): conflict-free fragment reads
  constexpr int DK = HS / 16; // k-steps of S = Q Kᵀ
  constexpr int DN = HS / 8;  // n-tiles of O
  constexpr int NT = TC_KT / 8;
  __shared__ __align__(16) bf16_t k_s[TC_KT][KS];
  __shared__ __align__(16) bf16_t v_s[TC_KT][KS];
  const int4 blk = reinterpret_cast<const int4*>(blocks)[blockIdx.x];
  const int first_row = blk.x, count = blk.y, kv_base = blk.z, first_pos = blk.w;
  const int h = blockIdx.y;
  const int kvh = h / (NH / NKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, c2 = (lane & 3) * 2;
  const size_t q_stride = (size_t)NH * HS;
  const size_t kv_stride = (size_t)NKV * HS;
  // This lane's two query rows (rows past count compute a copy of row 0 and are not stored).
  int qi[2], pos[2];
  for (int i = 0; i < 2; i++) {
    const int r = warp * 16 + g + 8 * i;
    qi[i] = r < count ? r : 0;
    pos[i] = first_pos + qi[i];
  }
  unsigned int qa[DK][4];
#pragma unroll
  for (int ks = 0; ks < DK; ks++) {
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const int row = qi[j & 1];
      const int d = ks * 16 + c2 + (j >> 1) * 8;
      qa[ks][j] = *reinterpret_cast<const unsigned int*>(
          q + (size_t)(first_row + row) * q_stride + (size_t)h * HS + d);
    }
  }
  float o[DN][4];
#pragma unroll
  for (int n = 0; n < DN; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
  float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.0f, 0.0f};
  const int warp_rows = min(16, max(0, count - warp * 16));
  const int warp_last = first_pos + (warp_rows > 0 ? warp * 16 + warp_rows - 1 : 0);
  const int last_key = first_pos + count - 1;
  const int n_tiles = last_key / TC_KT + 1;
  constexpr int CHUNKS = HS / 8;  // uint4 (8 bf16) per row
  for (int t = 0; t < n_tiles; t++) {
    const int key0 = t * TC_KT;
    __syncthreads();
    for (int idx = threadIdx.x; idx < TC_KT * CHUNKS; idx += TC_WARPS * 32) {
      const int r = idx / CHUNKS, ch = idx % CHUNKS;
      uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
      if (key0 + r <= last_key) {
        const size_t at = (size_t)(kv_base + key0 + r) * kv_stride + (size_t)kvh * HS + ch * 8;
        kv = *reinterpret_cast<const uint4*>(k_cache + at);
        vv = *reinterpret_cast<const uint4*>(v_cache + at);
      }
      *reinterpret_cast<uint4*>(&k_s[r][ch * 8]) = kv;
      *reinterpret_cast<uint4*>(&v_s[r][ch * 8]) = vv;
    }
    __syncthreads();
    if (warp_rows == 0 || key0 > warp_last) continue;  // warp-uniform
    float s[NT][4];
#pragma unroll
    for (int n = 0; n < NT; n++) {
      s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
      for (int ks = 0; ks < DK; ks++) {
        const bf16_t* kr = &k_s[n * 8 + g][ks * 16 + c2];
        mma_bf16(s[n], qa[ks], *reinterpret_cast<const unsigned int*>(kr),
                 *reinterpret_cast<const unsigned int*>(kr + 8));
      }
    }
    float mt[2] = {NEG_INF, NEG_INF};
#pragma unroll
    for (int n = 0; n < NT; n++) {
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const int key = key0 + n * 8 + c2 + (j & 1);
        const int i = j >> 1;
        s[n][j] = key <= pos[i] ? s[n][j] * scale : NEG_INF;
        mt[i] = fmaxf(mt[i], s[n][j]);
      }
    }
    float corr[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
      mt[i] = fmaxf(mt[i], __shfl_xor_sync(0xffffffffu, mt[i], 1));
      mt[i] = fmaxf(mt[i], __shfl_xor_sync(0xffffffffu, mt[i], 2));
      const float m_new = fmaxf(m[i], mt[i]);
      corr[i] = m[i] == NEG_INF ? 0.0f : expf(m[i] - m_new);
      m[i] = m_new;
    }
    float ps[2] = {0.0f, 0.0f};
#pragma unroll
    for (int n = 0; n < NT; n++) {
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const int i = j >> 1;
        const float p = s[n][j] == NEG_INF ? 0.0f : expf(s[n][j] - m[i]);
        s[n][j] = p;
        ps[i] += p;
      }
    }
#pragma unroll
    for (int i = 0; i < 2; i++) {
      ps[i] += __shfl_xor_sync(0xffffffffu, ps[i], 1);
      ps[i] += __shfl_xor_sync(0xffffffffu, ps[i], 2);
      l[i] = l[i] * corr[i] + ps[i];
    }
#pragma unroll
    for (int n = 0; n < DN; n++) {
      o[n][0] *= corr[0];
      o[n][1] *= corr[0];
      o[n][2] *= corr[1];
      o[n][3] *= corr[1];
    }
#pragma unroll
    for (int kk = 0; kk < TC_KT / 16; kk++) {
      const unsigned int pa[4] = {
          pack_bf16(s[2 * kk][0], s[2 * kk][1]), pack_bf16(s[2 * kk][2], s[2 * kk][3]),
          pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]),
          pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
      const int kr = kk * 16 + c2;
#pragma unroll
      for (int n = 0; n < DN; n++) {
        const int d = n * 8 + g;
        const unsigned int b0 = (unsigned int)v_s[kr][d] | ((unsigned int)v_s[kr + 1][d] << 16);
        const unsigned int b1 =
            (unsigned int)v_s[kr + 8][d] | ((unsigned int)v_s[kr + 9][d] << 16);
        mma_bf16(o[n], pa, b0, b1);
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 2; i++) {
    const int r = warp * 16 + g + 8 * i;
    if (r >= count) continue;
    bf16_t* out = att + (size_t)(first_row + r) * q_stride + (size_t)h * HS;
    const float inv = 1.0f / l[i];
#pragma unroll
    for (int n = 0; n < DN; n++) {
      *reinterpret_cast<unsigned int*>(out + n * 8 + c2) =
          pack_bf16(o[n][2 * i] * inv, o[n][2 * i + 1] * inv);
    }
  }
}

extern "C" __global__ void __launch_bounds__(TC_WARPS * 32)
attention_tc_hs64(const bf16_t* q, const bf16_t* k, const bf16_t* v, const int* blocks,
                  bf16_t* att, int NH, int NKV, float scale) {
  attention_tc_body<64>(q, k, v, blocks, att, NH, NKV, scale);
}

extern "C" __global__ void __launch_bounds__(TC_WARPS * 32)
attention_tc_hs128(const bf16_t* q, const bf16_t* k, const bf16_t* v, const int* blocks,
                   bf16_t* att, int NH, int NKV, float scale) {
  attention_tc_body<128>(q, k, v, blocks, att, NH, NKV, scale);
}

extern "C" __global__ void __launch_bounds__(TC_WARPS * 32)
attention_tc_hs32(const bf16_t* q, const bf16_t* k, const bf16_t* v, const int* blocks,
                  bf16_t* att, int NH, int NKV, float scale) {
  attention_tc_body<32>(q, k, v, blocks, att, NH, NKV, scale);
}

#endif
