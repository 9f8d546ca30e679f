// attention: causal grouped-query attention over a KV cache, online softmax (flash style),
//   att[r, h, :] = sum_{j <= pos(r)} softmax_j(q[r, h, :] . k[j, h / G, :] / sqrt(HS)) v[j, h / G, :]
// with G = NH / NKV query heads per KV head; keys j are the rows kv_base + 0 .. kv_base + pos(r)
// of the cache (the row's sequence).
//
// Shapes: q [rows, NH HS] act (read), k_cache/v_cache [capacity, NKV HS] act (read),
// blocks [n_blocks] int4 (first_row, count, kv_base, first_pos) (read): runs of at most ATT_QB
// consecutive rows of one sequence at consecutive positions, att [rows, NH HS] act (write).
// Launch: (n_blocks, NH) blocks of ATT_WARPS * 32 threads. Each warp owns ATT_QPW queries; a
// block shares key/value tiles of ATT_KT keys in shared memory (f32).
//
// Determinism and batch invariance: a query visits the key tiles [t ATT_KT, (t+1) ATT_KT) for
// t = 0 .. pos / ATT_KT in order, tiles aligned to its sequence's start; lane j scores key j of a
// tile (a sequential dot over HS), the tile max and the sum of p use a symmetric xor butterfly,
// and P.V accumulates keys in ascending order, skipping keys beyond pos. Nothing depends on which
// other queries share the block, so a row's bits are the same alone, in any batch, and in
// generation (one query per block).

#define ATT_WARPS 4
#define ATT_QPW 4
#define ATT_QB (ATT_WARPS * ATT_QPW)
#define ATT_KT 32

template <int HS>
__device__ __forceinline__ void attention_tile_loop(const act_t* q, const act_t* k_cache,
                                                    const act_t* v_cache, const int* blocks,
                                                    act_t* att, int NH, int NKV, float scale) {
  constexpr int KS = HS + 4;  // padded key rows: conflict-free float4 reads by 8-lane phases
  constexpr int E = HS / 32;  // output dims per lane
  __shared__ __align__(16) float q_s[ATT_QB][HS];
  __shared__ __align__(16) float k_s[ATT_KT][KS];
  __shared__ __align__(16) float v_s[ATT_KT][HS];
  __shared__ __align__(16) float p_s[ATT_WARPS][ATT_KT][ATT_QPW];
  const int4 blk = reinterpret_cast<const int4*>(blocks)[blockIdx.x];
  const int first_row = blk.x, count = blk.y, kv_base = blk.z, first_pos = blk.w;
  const int h = blockIdx.y;
  const int kvh = h / (NH / NKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const size_t q_stride = (size_t)NH * HS;
  const size_t kv_stride = (size_t)NKV * HS;
  for (int idx = threadIdx.x; idx < ATT_QB * HS; idx += ATT_WARPS * 32) {
    const int qi = idx / HS, d = idx % HS;
    q_s[qi][d] = qi < count ? ld(q[(size_t)(first_row + qi) * q_stride + (size_t)h * HS + d])
                            : 0.0f;
  }
  int pos[ATT_QPW];
  float m[ATT_QPW], l[ATT_QPW], acc[ATT_QPW][E];
#pragma unroll
  for (int j = 0; j < ATT_QPW; j++) {
    const int qi = warp * ATT_QPW + j;
    pos[j] = qi < count ? first_pos + qi : -1;
    m[j] = NEG_INF;
    l[j] = 0.0f;
#pragma unroll
    for (int e = 0; e < E; e++) acc[j][e] = 0.0f;
  }
  const int last_key = first_pos + count - 1;
  const int n_tiles = last_key / ATT_KT + 1;
  for (int t = 0; t < n_tiles; t++) {
    const int key0 = t * ATT_KT;
    __syncthreads();
    for (int idx = threadIdx.x; idx < ATT_KT * HS; idx += ATT_WARPS * 32) {
      const int r = idx / HS, d = idx % HS;
      const bool live = key0 + r <= last_key;
      const size_t at = (size_t)(kv_base + key0 + r) * kv_stride + (size_t)kvh * HS + d;
      k_s[r][d] = live ? ld(k_cache[at]) : 0.0f;
      v_s[r][d] = live ? ld(v_cache[at]) : 0.0f;
    }
    __syncthreads();
    float s[ATT_QPW];
#pragma unroll
    for (int j = 0; j < ATT_QPW; j++) s[j] = 0.0f;
    const int qb = warp * ATT_QPW;
#pragma unroll 4
    for (int d = 0; d < HS; d += 4) {
      const float4 kk = *reinterpret_cast<const float4*>(&k_s[lane][d]);
#pragma unroll
      for (int j = 0; j < ATT_QPW; j++) {
        const float4 qq = *reinterpret_cast<const float4*>(&q_s[qb + j][d]);
        s[j] = fmaf(qq.x, kk.x, s[j]);
        s[j] = fmaf(qq.y, kk.y, s[j]);
        s[j] = fmaf(qq.z, kk.z, s[j]);
        s[j] = fmaf(qq.w, kk.w, s[j]);
      }
    }
    const int key = key0 + lane;
#pragma unroll
    for (int j = 0; j < ATT_QPW; j++) {
      float p = 0.0f;
      if (key0 <= pos[j]) {  // warp-uniform: a tile wholly past pos is never visited
        const float sc = key <= pos[j] ? s[j] * scale : NEG_INF;
        float mt = sc;
        for (int o = 16; o > 0; o >>= 1) mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, o));
        const float m_new = fmaxf(m[j], mt);
        p = key <= pos[j] ? expf(sc - m_new) : 0.0f;
        float ps = p;
        for (int o = 16; o > 0; o >>= 1) ps += __shfl_xor_sync(0xffffffffu, ps, o);
        const float corr = expf(m[j] - m_new);
        l[j] = l[j] * corr + ps;
#pragma unroll
        for (int e = 0; e < E; e++) acc[j][e] *= corr;
        m[j] = m_new;
      }
      p_s[warp][lane][j] = p;
    }
    __syncwarp();
    for (int kk = 0; kk < ATT_KT; kk++) {
      const float4 pk = *reinterpret_cast<const float4*>(&p_s[warp][kk][0]);
      const float pj[4] = {pk.x, pk.y, pk.z, pk.w};
      float vv[E];
#pragma unroll
      for (int e = 0; e < E; e++) vv[e] = v_s[kk][lane + 32 * e];
#pragma unroll
      for (int j = 0; j < ATT_QPW; j++) {
        if (key0 + kk <= pos[j]) {
#pragma unroll
          for (int e = 0; e < E; e++) acc[j][e] = fmaf(pj[j], vv[e], acc[j][e]);
        }
      }
    }
    __syncwarp();
  }
#pragma unroll
  for (int j = 0; j < ATT_QPW; j++) {
    if (pos[j] < 0) continue;
    const int qi = warp * ATT_QPW + j;
    act_t* out = att + (size_t)(first_row + qi) * q_stride + (size_t)h * HS;
#pragma unroll
    for (int e = 0; e < E; e++) out[lane + 32 * e] = st(acc[j][e] / l[j]);
  }
}

extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
attention_causal_hs32(const act_t* q, const act_t* k, const act_t* v, const int* blocks,
                      act_t* att, int NH, int NKV, float scale) {
  attention_tile_loop<32>(q, k, v, blocks, att, NH, NKV, scale);
}

extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
attention_causal_hs64(const act_t* q, const act_t* k, const act_t* v, const int* blocks,
                      act_t* att, int NH, int NKV, float scale) {
  attention_tile_loop<64>(q, k, v, blocks, att, NH, NKV, scale);
}

extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
attention_causal_hs128(const act_t* q, const act_t* k, const act_t* v, const int* blocks,
                       act_t* att, int NH, int NKV, float scale) {
  attention_tile_loop<128>(q, k, v, blocks, att, NH, NKV, scale);
}
