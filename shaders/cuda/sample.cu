// sample: token candidates on the device, the contract of shaders/sample.wgsl (the WebGPU kernel)
// with the same outputs bit for bit: per logits row, the M largest logits, the (M+1)-th largest
// value rho (every id left out has a logit <= rho), the row's NaN count and the raw logits of a
// list of ids (the ids a repetition penalty changes). The host then decides the token from these
// alone, or reads the full row when they cannot decide it (src/model/sampling.ts).
//
// Order: logits compare as float32 numbers (-0 == +0); NaN and ids >= limit rank below every
// number (the host treats them as -Infinity). Among equal values the lower id ranks higher.
//
// sample_topm shapes: top [rows, 2M + 3] u32 (write): M ids in slot order (ids with a key above
// the (M+1)-th key T in id order, then the lowest-id ties of T), their M logits (f32 bits;
// -Infinity for NaN / past the limit), rho (f32 bits), how many of the M rank strictly above rho,
// the row's NaN count; gathered [rows, G] f32 (write): logits[row, seen[row, j]] for
// j < seen_count[row]; logits [rows, V] f32, seen [rows, G] u32, seen_count [rows] u32 (read).
// Launch: rows blocks of SAMPLE_THREADS threads.
//
// Method (exact, deterministic; no float arithmetic at all): each logit maps to a u32 key whose
// unsigned order is the order above (0 for NaN and excluded ids). Pass 1 takes each thread's
// largest key; the (M+1)-th largest of those, tau, bounds the answer from below, and pass 2
// copies the ids with key >= tau to shared memory (usually a few times M of them). T, the key of
// the (M+1)-th largest, is radix-selected there (4 rounds of 8 bits, a 256-bin histogram each),
// and each kept id's slot is its rank by id among the listed ids of its kind. When more than
// SAMPLE_CAP ids reach tau (a row of many equal logits, or M + 1 > SAMPLE_THREADS) the select
// runs over the row itself (warp peers of one bin add once: __match_any_sync); the ids >= T
// are then listed if they fit, else the row is scanned in id-ordered tiles with ballots.

#define SAMPLE_THREADS 512
#define SAMPLE_WARPS (SAMPLE_THREADS / 32)
#define SAMPLE_BINS 256
#define SAMPLE_CAP 2048
#define SAMPLE_NEG_INF_BITS 0xff800000u

__device__ __forceinline__ bool sample_is_nan(unsigned b) { return (b & 0x7fffffffu) > 0x7f800000u; }

// Unsigned order = float order; 0 for NaN and ids past the limit; -0 maps like +0.
__device__ __forceinline__ unsigned sample_key(unsigned b, int id, int limit) {
  if (id >= limit || sample_is_nan(b)) return 0u;
  if (b == 0x80000000u) return 0x80000000u;
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

extern "C" __global__ void sample_topm(unsigned* top, float* gathered, const float* logits,
                                       const unsigned* seen, const unsigned* seen_count, int V,
                                       int limit, int M, int G) {
  __shared__ unsigned hist[SAMPLE_BINS];
  __shared__ unsigned s_prefix, s_need, s_nan, s_count, s_tau, s_ties;
  __shared__ unsigned cand_id[SAMPLE_CAP];
  __shared__ unsigned cand_key[SAMPLE_CAP];
  __shared__ unsigned part[SAMPLE_THREADS];
  __shared__ unsigned warp_gt[2][SAMPLE_WARPS], warp_eq[2][SAMPLE_WARPS];
  const int row = blockIdx.x;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const unsigned* x = reinterpret_cast<const unsigned*>(logits) + (size_t)row * V;
  unsigned* out = top + (size_t)row * (2 * M + 3);
  // Every lane walks the same number of steps (ids past V are skipped), so warp intrinsics
  // see whole warps.
  const int span = (V + SAMPLE_THREADS - 1) / SAMPLE_THREADS * SAMPLE_THREADS;
  if (tid == 0) {
    s_prefix = 0u;
    s_need = (unsigned)M + 1u;
    s_nan = 0u;
    s_count = 0u;
    s_tau = 0u;
  }
  // Pass 1: each thread's largest key (ids tid, tid + SAMPLE_THREADS, ...) and the row's NaNs.
  unsigned mx = 0u, nans = 0u;
#pragma unroll 4
  for (int i = tid; i < V; i += SAMPLE_THREADS) {
    const unsigned b = x[i];
    mx = max(mx, sample_key(b, i, limit));
    nans += sample_is_nan(b) ? 1u : 0u;
  }
  part[tid] = mx;
  __syncthreads();
  atomicAdd(&s_nan, nans);
  // tau: the (M+1)-th largest thread maximum (ranked by key, then thread). Those M+1 maxima are
  // distinct ids with keys >= tau, so the (M+1)-th largest key of the row and all its ties are
  // >= tau: selecting among the ids with key >= tau selects among the row. With M + 1 above the
  // thread count tau stays 0 (every id).
  if (M + 1 <= SAMPLE_THREADS) {
    unsigned rank = 0u;
    for (int u = 0; u < SAMPLE_THREADS; u++) {
      const unsigned o = part[u];
      rank += (o > mx || (o == mx && u < tid)) ? 1u : 0u;
    }
    if (rank == (unsigned)M) s_tau = mx;
  }
  __syncthreads();
  const unsigned tau = s_tau;
  // Pass 2: the ids with key >= tau, in shared memory when they fit (the usual case: a few
  // times M).
  for (int i = tid; i < V; i += SAMPLE_THREADS) {
    const unsigned k = sample_key(x[i], i, limit);
    if (k >= tau) {
      const unsigned at = atomicAdd(&s_count, 1u);
      if (at < SAMPLE_CAP) {
        cand_id[at] = (unsigned)i;
        cand_key[at] = k;
      }
    }
  }
  __syncthreads();
  const unsigned n_tau = s_count;
  const bool shared_only = n_tau <= SAMPLE_CAP;
  // Radix select of T, the (M+1)-th largest key, over the shared list or the row.
  unsigned mask = 0u;
  for (int round = 0; round < 4; round++) {
    const int shift = 24 - 8 * round;
    for (int j = tid; j < SAMPLE_BINS; j += SAMPLE_THREADS) hist[j] = 0u;
    __syncthreads();
    const unsigned prefix = s_prefix;
    if (shared_only) {
      for (unsigned j = tid; j < n_tau; j += SAMPLE_THREADS) {
        const unsigned k = cand_key[j];
        if ((k & mask) == prefix) atomicAdd(&hist[(k >> shift) & 0xffu], 1u);
      }
    } else {
      for (int i = tid; i < span; i += SAMPLE_THREADS) {
        unsigned bin = SAMPLE_BINS;
        if (i < V) {
          const unsigned k = sample_key(x[i], i, limit);
          if ((k & mask) == prefix) bin = (k >> shift) & 0xffu;
        }
        const unsigned peers = __match_any_sync(0xffffffffu, bin);
        if (bin < SAMPLE_BINS && lane == __ffs(peers) - 1) atomicAdd(&hist[bin], __popc(peers));
      }
    }
    __syncthreads();
    if (tid == 0) {
      unsigned need = s_need;
      int d = SAMPLE_BINS;
      for (;;) {
        d--;
        const unsigned c = hist[d];
        if (c >= need || d == 0) break;
        need -= c;
      }
      s_prefix = prefix | ((unsigned)d << shift);
      s_need = need;
      if (round == 3) s_ties = hist[d];
    }
    __syncthreads();
    mask |= 0xffu << shift;
  }
  const unsigned t = s_prefix;
  // The (M+1)-th is the s_need-th tie of T in id order: the first s_need - 1 ties are kept.
  const unsigned ties = s_need - 1u;
  const unsigned n_gt = (unsigned)M - ties;
  const unsigned n_ge = n_gt + s_ties;  // ids with key >= T
  unsigned n_list = n_tau;
  if (!shared_only && n_ge <= SAMPLE_CAP) {
    // Collect the ids with key >= T instead.
    __syncthreads();
    if (tid == 0) s_count = 0u;
    __syncthreads();
    for (int i = tid; i < V; i += SAMPLE_THREADS) {
      const unsigned k = sample_key(x[i], i, limit);
      if (k >= t) {
        const unsigned at = atomicAdd(&s_count, 1u);
        cand_id[at] = (unsigned)i;
        cand_key[at] = k;
      }
    }
    __syncthreads();
    n_list = n_ge;
  }
  if (shared_only || n_ge <= SAMPLE_CAP) {
    // Each kept id's slot is its rank by id among the listed ids of its kind (> T or == T).
    for (unsigned j = tid; j < n_list; j += SAMPLE_THREADS) {
      const unsigned id = cand_id[j], k = cand_key[j];
      if (k < t) continue;
      const bool gt = k > t;
      unsigned before = 0u;
      for (unsigned q = 0; q < n_list; q++) {
        const unsigned kq = cand_key[q];
        before += (cand_id[q] < id && kq >= t && (kq > t) == gt) ? 1u : 0u;
      }
      const unsigned slot = gt ? before : (before < ties ? n_gt + before : (unsigned)M);
      if (slot < (unsigned)M) {
        out[slot] = id;
        out[M + slot] = k == 0u ? SAMPLE_NEG_INF_BITS : x[id];
      }
    }
  } else {
    // A row of many equal keys: scan it in id-ordered tiles with ballots and running counts.
    unsigned base_gt = 0u, base_eq = 0u;
    for (int i0 = 0, buf = 0; i0 < span; i0 += SAMPLE_THREADS, buf ^= 1) {
      const int i = i0 + tid;
      const unsigned k = i < V ? sample_key(x[i], i, limit) : 0u;
      const bool gt = i < V && k > t, eq = i < V && k == t;
      const unsigned bg = __ballot_sync(0xffffffffu, gt), be = __ballot_sync(0xffffffffu, eq);
      if (lane == 0) {
        warp_gt[buf][warp] = __popc(bg);
        warp_eq[buf][warp] = __popc(be);
      }
      __syncthreads();
      unsigned at_gt = base_gt, at_eq = base_eq, all_gt = 0u, all_eq = 0u;
      for (int w = 0; w < SAMPLE_WARPS; w++) {
        if (w < warp) {
          at_gt += warp_gt[buf][w];
          at_eq += warp_eq[buf][w];
        }
        all_gt += warp_gt[buf][w];
        all_eq += warp_eq[buf][w];
      }
      const unsigned below = (1u << lane) - 1u;
      at_gt += __popc(bg & below);
      at_eq += __popc(be & below);
      unsigned slot = (unsigned)M;
      if (gt) slot = at_gt;
      else if (eq && at_eq < ties) slot = n_gt + at_eq;
      if (slot < (unsigned)M) {
        out[slot] = (unsigned)i;
        out[M + slot] = k == 0u ? SAMPLE_NEG_INF_BITS : x[i];
      }
      base_gt += all_gt;
      base_eq += all_eq;
      // Double-buffered warp counts: one barrier per tile. The exit test is block-uniform.
      if (base_gt >= n_gt && base_eq >= ties) break;
    }
  }
  if (tid == 0) {
    // rho: the (M+1)-th value; -Infinity when only excluded ids are left.
    unsigned rho = SAMPLE_NEG_INF_BITS;
    if (t != 0u) rho = (t & 0x80000000u) ? (t & 0x7fffffffu) : ~t;
    out[2 * M] = rho;
    out[2 * M + 1] = n_gt;
    out[2 * M + 2] = s_nan;
  }
  const unsigned count = min(seen_count[row], (unsigned)G);
  for (unsigned j = tid; j < count; j += SAMPLE_THREADS) {
    gathered[(size_t)row * G + j] =
        __uint_as_float(x[min(seen[(size_t)row * G + j], (unsigned)V - 1u)]);
  }
}

// sample_feed: greedy decoding without the host. Per row, the argmax of the M candidates that
// sample_topm left in `top` (largest logit, lowest id among equals: with no repetition penalty
// this is the full row's argmax, as an id outside the M ranks below every candidate holding the
// same value); it becomes the token the next step embeds (next[row]) and is logged at
// log[log_offset + row] with bit 31 set when the row held a NaN logit (the host then redoes the
// generation with full rows: NaN breaks the host argmax's order).
// It is also the next step's log-prob target (targets[row] = (token, -1), the logprob kernel's
// int2 pairs).
// Shapes: next [rows] i32 (write), targets [rows] int2 (write), log [steps * rows] u32 (write),
// top [rows, 2M + 3] (read).
// Launch: ceil(rows / SAMPLE_THREADS) blocks of SAMPLE_THREADS threads, one row each.

extern "C" __global__ void sample_feed(int* next, int* targets, unsigned* log, const unsigned* top,
                                       int rows, int M, int log_offset) {
  const int row = blockIdx.x * SAMPLE_THREADS + threadIdx.x;
  if (row >= rows) return;
  const unsigned* c = top + (size_t)row * (2 * M + 3);
  unsigned best = c[0];
  float best_v = __uint_as_float(c[M]);
  for (int j = 1; j < M; j++) {
    const unsigned id = c[j];
    const float v = __uint_as_float(c[M + j]);
    if (v > best_v || (v == best_v && id < best)) {
      best = id;
      best_v = v;
    }
  }
  next[row] = (int)best;
  targets[2 * row] = (int)best;
  targets[2 * row + 1] = -1;
  log[log_offset + row] = best | (c[2 * M + 2] != 0u ? 0x80000000u : 0u);
}
