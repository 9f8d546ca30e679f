/**
 * Trainer benchmarks and the on-device gradient check; prints one JSON object per result.
 *
 *   deno run -A bench/train.ts gradcheck MODEL_DIR
 *     The WebGPU training step on qwen3-tiny with the inputs of
 *     tests/fixtures/train/grad_check_inputs.json, gradients compared with PyTorch's float32
 *     gradients (tests/fixtures/train/torch_grads_*.safetensors): max relative error.
 *   deno run -A bench/train.ts throughput SHAPE [B=4] [T=512] [steps=2]
 *     One GRPO optimiser step (statistics forward, per-sequence recomputed forward + backward,
 *     clip, AdamW) on B sequences of T tokens with seeded random weights; SHAPE is
 *     "qwen2.5-0.5b" (C 896, FF 4864, L 24, NH 14, NKV 2, V 151936) or "tiny" (C 64, L 2, V 512).
 *     Tokens/s counts all B·T positions.
 */
import { GpuContext } from "../src/gpu/context.ts";
import { GpuGrpoTrainer } from "../src/gpu/train/gpu_trainer.ts";
import { expectedTensorShapes } from "../src/model/checkpoint.ts";
import { parseModelConfig } from "../src/model/config.ts";
import { readSafetensorsHeader, readTensorBytes } from "../src/model/safetensors.ts";
import { clipAdvantages } from "../src/train/grpo_loss.ts";
import type { GrpoSample } from "../src/train/grpo_step.ts";
import { loadParams, type Params } from "../src/train/params.ts";

const SHAPES: Record<string, Record<string, unknown>> = {
  "qwen2.5-0.5b": {
    model_type: "qwen2",
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    vocab_size: 151936,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
  },
  tiny: {
    model_type: "qwen2",
    hidden_size: 64,
    intermediate_size: 192,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 512,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
  },
};

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function gradcheck(modelDir: string): Promise<void> {
  const inputs = JSON.parse(await Deno.readTextFile("tests/fixtures/train/grad_check_inputs.json"));
  const { config, params } = await loadParams(modelDir);
  const ctx = await GpuContext.create();
  const maxT = Math.max(...inputs.sequences.map((s: { tokens: number[] }) => s.tokens.length));
  const trainer = await GpuGrpoTrainer.create(ctx, config, params, {
    maxLenTokens: maxT,
    ropeRoundTo: "float32",
  });
  for (
    const [cfgName, cfg] of Object.entries(inputs.configs) as [
      string,
      Record<string, number | boolean>,
    ][]
  ) {
    const adv = clipAdvantages(
      inputs.sequences.map((s: { advantage: number }) => s.advantage),
      inputs.adv_clip_percentile,
    );
    const samples: GrpoSample[] = inputs.sequences.map((s: Record<string, unknown>, i: number) => ({
      tokens: s.tokens as number[],
      promptLength: s.prompt_length as number,
      behaviourLogprobs: s.behaviour_logprobs as number[],
      advantage: cfg.use_advantages ? adv[i] : 0,
    }));
    const t0 = performance.now();
    const r = await trainer.gradients(
      samples,
      inputs.sequences.map((s: { reference_logprobs: number[] }) => s.reference_logprobs),
      {
        klCoef: cfg.kl_coef as number,
        entropyCoef: cfg.entropy_coef as number,
        entropyMean: "token", // as bench/torch_grad_check.py averages it
      },
    );
    const ms = performance.now() - t0;
    const header = await readSafetensorsHeader(
      `tests/fixtures/train/torch_grads_${cfgName}.safetensors`,
    );
    let worst = 0, worstName = "";
    for (const e of header.entries) {
      const torch = new Float32Array((await readTensorBytes(e)).slice().buffer);
      const ours = await trainer.readGrad(e.name);
      let scale = 0, err = 0;
      for (let i = 0; i < torch.length; i++) {
        scale = Math.max(scale, Math.abs(torch[i]));
        err = Math.max(err, Math.abs(ours[i] - torch[i]));
      }
      if (err / scale > worst) {
        worst = err / scale;
        worstName = e.name;
      }
    }
    console.log(JSON.stringify({
      name: "train_gradcheck_webgpu",
      device: ctx.description,
      shape: `qwen3-tiny, ${samples.length} sequences padded to T=${maxT}`,
      config: cfgName,
      metric: "max_rel_err_vs_torch_f32",
      value: worst,
      worst_tensor: worstName,
      loss: r.loss,
      loss_torch: Number(header.metadata.loss),
      unit: "ratio",
      iterations: 1,
      step_ms: ms,
    }));
  }
  ctx.destroy();
}

async function throughput(shape: string, B: number, T: number, steps: number): Promise<void> {
  const json = SHAPES[shape];
  if (json === undefined) {
    throw new RangeError(`Unknown shape ${shape}: expected ${Object.keys(SHAPES).join(", ")}`);
  }
  const config = parseModelConfig(json, shape);
  const rand = lcg(7);
  const params: Params = new Map();
  let count = 0;
  for (const [name, dims] of expectedTensorShapes(config)) {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    if (name.endsWith("norm.weight")) data.fill(1);
    else for (let i = 0; i < n; i++) data[i] = 0.04 * (rand() - 0.5);
    params.set(name, { shape: dims, data });
    count += n;
  }
  const ctx = await GpuContext.create();
  const tCreate = performance.now();
  const trainer = await GpuGrpoTrainer.create(ctx, config, params, { maxLenTokens: T, lr: 1e-6 });
  params.clear();
  const createMs = performance.now() - tCreate;
  const P = Math.floor(T / 8);
  const samples: GrpoSample[] = Array.from({ length: B }, (_, b) => ({
    tokens: Array.from({ length: T }, () => Math.floor(rand() * config.vocabSize)),
    promptLength: P,
    behaviourLogprobs: new Array(T - P).fill(-Math.log(config.vocabSize) + 0.01 * b),
    advantage: b % 2 === 0 ? 1 : -1,
  }));
  const times: number[] = [];
  for (let s = 0; s < steps + 1; s++) {
    const t0 = performance.now();
    await trainer.gradients(samples, null, {});
    await trainer.optimizerStep();
    times.push(performance.now() - t0);
  }
  const measured = times.slice(1); // the first step compiles and warms up
  const ms = measured.reduce((a, b) => a + b, 0) / measured.length;
  console.log(JSON.stringify({
    name: "train_step_webgpu",
    device: ctx.description,
    shape: `${shape} (${(count / 1e6).toFixed(0)}M params), B=${B}, T=${T}, f32`,
    metric: "tokens_per_s",
    value: (B * T) / (ms / 1000),
    unit: "tokens/s",
    iterations: measured.length,
    step_ms: ms,
    first_step_ms: times[0],
    create_ms: createMs,
    gpu_bytes: ctx.peakBytes,
  }));
  ctx.destroy();
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode === "gradcheck") await gradcheck(rest[0] ?? "../shared/fixtures/qwen3-tiny");
  else if (mode === "throughput") {
    await throughput(
      rest[0] ?? "tiny",
      Number(rest[1] ?? 4),
      Number(rest[2] ?? 512),
      Number(rest[3] ?? 2),
    );
  } else {
    console.error("Usage: bench/train.ts gradcheck MODEL_DIR | throughput SHAPE [B] [T] [steps]");
    Deno.exit(2);
  }
}
