// bias: y[r, j] = rnd(acc[r, j] + b[j])   — a linear layer's bias added to the f32 GEMM result
// before the single rounding to the activation dtype (what cuBLASLt's bias epilogue does for
// PyTorch's bf16 addmm). Used for o_proj biases; the qkv bias is fused into rope_qkv.
//
// Shapes: acc [rows, N] f32 (read), b [N] f32 (read), y [rows, N] act (write).
// Launch: (ceil(N / 256), rows) blocks of 256 threads. Elementwise: deterministic.

extern "C" __global__ void bias_add_rows(act_t* y, const float* acc, const float* b, int N) {
  const int r = blockIdx.y;
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j < N) y[(size_t)r * N + j] = st(acc[(size_t)r * N + j] + b[j]);
}
