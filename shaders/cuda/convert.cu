// convert: out[i] = bf16(in[i]) (round to nearest even) and out[i] = f32(in[i]) — weight upload of
// f32/f16 checkpoints into bf16, and tests of the rounding rule against known bit patterns.
//
// Shapes: in [n], out [n]. Launch: ceil(n / 256) blocks of 256 threads (any grid works: the loop
// strides by the grid). Elementwise: deterministic.

extern "C" __global__ void convert_f32_to_bf16(bf16_t* out, const float* in, long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    out[i] = f32_to_bf16(in[i]);
  }
}

extern "C" __global__ void convert_bf16_to_f32(float* out, const bf16_t* in, long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    out[i] = bf16_to_f32(in[i]);
  }
}
