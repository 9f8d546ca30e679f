// swiglu: h[r, i] = rnd(rnd(silu(g)) * u),  g = gu[r, i], u = gu[r, FF + i],  silu(g) = g / (1 + exp(-g))
// (HF: act_fn(gate_proj(x)) * up_proj(x), each op's output stored in the activation dtype).
//
// Shapes: gu [rows, 2 FF] act (read; gate then up, one fused GEMM), h [rows, FF] act (write).
// Launch: swiglu_rows (ceil(FF / 256), rows) blocks of 256 threads; swiglu_rows2 (even FF: two
// elements per thread through one 4- or 8-byte access) (ceil(FF / 512), rows). Both compute the
// same formula per element, so they give the same bits. Elementwise: deterministic. expf is the
// accurate libdevice exp (no fast-math), as PyTorch's silu uses.

__device__ __forceinline__ float swiglu_one(float g, float u) {
  return rnd(g / (1.0f + expf(-g))) * u;
}

extern "C" __global__ void swiglu_rows(act_t* h, const act_t* gu, int FF) {
  const int r = blockIdx.y;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= FF) return;
  const float g = ld(gu[(size_t)r * 2 * FF + i]);
  const float u = ld(gu[(size_t)r * 2 * FF + FF + i]);
  h[(size_t)r * FF + i] = st(swiglu_one(g, u));
}

extern "C" __global__ void swiglu_rows2(act_t* h, const act_t* gu, int FF) {
  const int r = blockIdx.y;
  const int i = 2 * (blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= FF) return;
  const float2 g = ld2(gu + (size_t)r * 2 * FF + i);
  const float2 u = ld2(gu + (size_t)r * 2 * FF + FF + i);
  st2(h + (size_t)r * FF + i, swiglu_one(g.x, u.x), swiglu_one(g.y, u.y));
}
