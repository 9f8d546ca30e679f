import { ok as assert } from "node:assert/strict";
import { openCheckpoint } from "../../src/model/checkpoint.ts";
import { loadCpuModel } from "../../src/model/cpu_model.ts";
import { makeTinyModel, type TinyModelOptions } from "../../src/model/tiny.ts";
import { CudaModel } from "../../src/cuda/cuda_model.ts";
import type { CudaPrecision } from "../../src/cuda/kernels_source.ts";
import { cudaTest } from "./_cuda.ts";

// Shapes the fixtures do not cover, against the float64 CPU reference: head sizes 64 and 128
// (each attention kernel), Llama-3 scaled RoPE, o_proj and q/k/v biases (llama attention_bias),
// untied lm_head, and f32/f16 checkpoints (converted to bf16 on the device).
const CASES: { name: string; options: TinyModelOptions }[] = [
  {
    name: "llama, HS 64, Llama-3 RoPE, attention bias, f32 weights",
    options: {
      architecture: "llama",
      seed: 11,
      hiddenSize: 256,
      numHeads: 4,
      numKvHeads: 2,
      vocabSize: 300,
      dtype: "F32",
      attentionBias: true,
      llama3RopeScaling: {
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 64,
      },
    },
  },
  {
    name: "qwen3, HS 128, q/k norms, f16 weights, untied",
    options: {
      architecture: "qwen3",
      seed: 12,
      hiddenSize: 256,
      numHeads: 2,
      numKvHeads: 1,
      vocabSize: 300,
      dtype: "F16",
      tieWordEmbeddings: false,
    },
  },
  {
    name: "qwen3, odd C 129 and odd FF 385 (unpaired kernel paths), HS 64",
    options: {
      architecture: "qwen3",
      seed: 14,
      hiddenSize: 129,
      intermediateSize: 385,
      numHeads: 2,
      numKvHeads: 1,
      headDim: 64,
      vocabSize: 301,
    },
  },
  {
    name: "qwen2, HS 64, q/k/v bias, bf16 weights",
    options: { architecture: "qwen2", seed: 13, hiddenSize: 128, numHeads: 2, numKvHeads: 1 },
  },
];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// f32: only summation order and libm differ from float64 (measured ~1e-5 on the fixtures).
// bf16: activations rounded to 8 bits at every HF rounding point; the fixtures' bf16 runs sit
// within 0.1 of float32, so 0.15 here leaves room for other random weights.
const BOUND: Record<CudaPrecision, number> = { f32: 1e-3, bf16: 0.15 };

for (const { name, options } of CASES) {
  for (const precision of ["f32", "bf16"] as const) {
    cudaTest(
      `proofForward() in ${precision} matches the CPU reference (${name}) within ${
        BOUND[precision]
      }`,
      async () => {
        const dir = await Deno.makeTempDir();
        try {
          await makeTinyModel(dir, options);
          const cpu = await loadCpuModel(dir);
          const ckpt = await openCheckpoint(dir);
          const model = await CudaModel.load(ckpt, { precision });
          ckpt.close();
          try {
            const V = model.vocabSize;
            const seqs = [
              Array.from({ length: 150 }, (_, i) => (i * 37 + 5) % V),
              Array.from({ length: 9 }, (_, i) => (i * 11 + 3) % V),
            ];
            const ours = await model.proofForward(seqs);
            const ref = await cpu.proofForward(seqs);
            for (let s = 0; s < seqs.length; s++) {
              const dh = maxAbsDiff(ours[s].hidden, ref[s].hidden);
              const dl = maxAbsDiff(ours[s].nextTokenLogprobs, ref[s].nextTokenLogprobs);
              assert(dh <= BOUND[precision], `seq${s} hidden max abs diff ${dh}`);
              assert(dl <= BOUND[precision], `seq${s} log-prob max abs diff ${dl}`);
            }
          } finally {
            model.dispose();
            cpu.dispose();
          }
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    );
  }
}
