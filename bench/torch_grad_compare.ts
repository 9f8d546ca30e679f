/**
 * Compares the CPU reference gradients with PyTorch's (the output folder of
 * bench/torch_grad_check.py) and prints one JSON line per (torch dtype, loss config) with the
 * maximum relative errors. With `--write-fixture DIR` it also stores the float32-PyTorch
 * gradients as safetensors for tests/train/torch_grad_test.ts.
 *
 * Usage: deno run -A bench/torch_grad_compare.ts TORCH_OUT_DIR [--write-fixture DIR]
 */
import { grpoGradients, type GrpoSample } from "../src/train/grpo_step.ts";
import { clipAdvantages } from "../src/train/grpo_loss.ts";
import { loadParams, type Params } from "../src/train/params.ts";
import { f32Bytes, writeSafetensors } from "../src/model/safetensors.ts";

interface TorchTensor {
  name: string;
  shape: number[];
  offset: number;
  bytes: number;
}
interface Inputs {
  configs: Record<string, { kl_coef: number; entropy_coef: number; use_advantages: boolean }>;
  adv_clip_percentile: number;
  sequences: {
    tokens: number[];
    prompt_length: number;
    behaviour_logprobs: number[];
    reference_logprobs: number[];
    advantage: number;
  }[];
}

/** Our gradients of one loss config of the grad-check inputs. */
export function ourGradients(
  config: Parameters<typeof grpoGradients>[0],
  params: Params,
  inputs: Inputs,
  cfgName: string,
): { loss: number; grads: Params } {
  const cfg = inputs.configs[cfgName];
  const adv = clipAdvantages(inputs.sequences.map((s) => s.advantage), inputs.adv_clip_percentile);
  const samples: GrpoSample[] = inputs.sequences.map((s, i) => ({
    tokens: s.tokens,
    promptLength: s.prompt_length,
    behaviourLogprobs: s.behaviour_logprobs,
    advantage: cfg.use_advantages ? adv[i] : 0,
  }));
  // The reference log-probs are constants of the loss: a policy whose forward is replaced by them
  // is not needed; grpoGradients takes reference params, so pass the values through lpRef instead.
  const r = grpoGradientsWithRef(config, params, samples, inputs, cfg);
  return r;
}

function grpoGradientsWithRef(
  config: Parameters<typeof grpoGradients>[0],
  params: Params,
  samples: GrpoSample[],
  inputs: Inputs,
  cfg: { kl_coef: number; entropy_coef: number },
): { loss: number; grads: Params } {
  const r = grpoGradients(config, params, null, samples, {
    klCoef: cfg.kl_coef,
    entropyCoef: cfg.entropy_coef,
    referenceLogprobs: inputs.sequences.map((s) => s.reference_logprobs),
    // transformers keeps float32 RoPE frequencies in a model loaded in float32.
    ropeRoundTo: "float32",
    // bench/torch_grad_check.py averages entropy over all completion tokens.
    entropyMean: "token",
  });
  return { loss: r.loss, grads: r.grads };
}

/** max over tensors of max|ours − torch| / max|torch|, and the tensor where it happens. */
export function compareGrads(
  ours: Params,
  torch: Map<string, Float64Array>,
): { maxRelErr: number; worstTensor: string; maxElemRelErr: number } {
  let maxRelErr = 0, worstTensor = "", maxElemRelErr = 0;
  for (const [name, t] of torch) {
    const o = ours.get(name);
    if (o === undefined) throw new Error(`our gradients lack ${name}`);
    let scale = 0;
    for (const x of t) scale = Math.max(scale, Math.abs(x));
    let err = 0;
    for (let i = 0; i < t.length; i++) {
      const d = Math.abs(o.data[i] - t[i]);
      err = Math.max(err, d);
      // Elementwise relative error over entries ≥ 1 % of the tensor's largest (smaller ones are
      // dominated by cancellation noise in either implementation).
      if (Math.abs(t[i]) >= 0.01 * scale) {
        maxElemRelErr = Math.max(maxElemRelErr, d / Math.abs(t[i]));
      }
    }
    const rel = scale === 0 ? err : err / scale;
    if (rel > maxRelErr) {
      maxRelErr = rel;
      worstTensor = name;
    }
  }
  return { maxRelErr, worstTensor, maxElemRelErr };
}

if (import.meta.main) {
  const dir = Deno.args[0];
  const fixtureIdx = Deno.args.indexOf("--write-fixture");
  const fixtureDir = fixtureIdx >= 0 ? Deno.args[fixtureIdx + 1] : null;
  const inputs: Inputs = JSON.parse(
    await Deno.readTextFile("tests/fixtures/train/grad_check_inputs.json"),
  );
  const modelDir = new URL("../../shared/fixtures/qwen3-tiny", import.meta.url).pathname;
  const { config, params } = await loadParams(modelDir);
  const results = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
  const bytes = new Map<string, Uint8Array>();
  for (const cfgName of Object.keys(inputs.configs)) {
    const ours = ourGradients(config, params, inputs, cfgName);
    for (const dtype of ["f32", "f64"]) {
      const run = results.runs[`${dtype}_${cfgName}`];
      const file = `${dir}/grads_${dtype}_${cfgName}.bin`;
      const raw = bytes.get(file) ?? await Deno.readFile(file);
      const torch = new Map<string, Float64Array>();
      for (const t of run.tensors as TorchTensor[]) {
        const slice = raw.slice(t.offset, t.offset + t.bytes);
        torch.set(
          t.name,
          dtype === "f32"
            ? Float64Array.from(new Float32Array(slice.buffer))
            : new Float64Array(slice.buffer),
        );
      }
      const c = compareGrads(ours.grads, torch);
      console.log(JSON.stringify({
        name: "torch_grad_check",
        device: results.device,
        shape: `qwen3-tiny, ${inputs.sequences.length} sequences`,
        torch_dtype: dtype,
        config: cfgName,
        loss_ours: ours.loss,
        loss_torch: run.loss,
        metric: "max_rel_err",
        value: c.maxRelErr,
        worst_tensor: c.worstTensor,
        max_elem_rel_err: c.maxElemRelErr,
        unit: "ratio",
        iterations: 1,
      }));
      if (fixtureDir !== null && dtype === "f32") {
        await writeSafetensors(
          `${fixtureDir}/torch_grads_${cfgName}.safetensors`,
          [...torch].map(([name, g]) => ({
            name,
            dtype: "F32" as const,
            shape: (run.tensors as TorchTensor[]).find((t) => t.name === name)!.shape,
            data: f32Bytes(g),
          })),
          { loss: String(run.loss), source: `PyTorch ${results.torch} on ${results.device}` },
        );
      }
    }
  }
}
