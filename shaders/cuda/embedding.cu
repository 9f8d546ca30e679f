// embedding: x[r, i] = table[tokens[r], i]   (a gather; bf16 rows stay bf16, as in HF)
//
// Shapes: x [rows, C] act (write), table [V, C] act (read), tokens [rows] i32 (read; checked on
// the host to lie in [0, V)). Launch: (ceil(C / 256), rows) blocks of 256 threads. A copy:
// deterministic.

extern "C" __global__ void embedding_gather(act_t* x, const act_t* table, const int* tokens,
                                            int C) {
  const int r = blockIdx.y;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < C) x[(size_t)r * C + i] = table[(size_t)tokens[r] * C + i];
}
