import { ok as assert } from "node:assert/strict";
import { compareGrads, ourGradients } from "../../bench/torch_grad_compare.ts";
import { readSafetensorsHeader, readTensorBytes } from "../../src/model/safetensors.ts";
import { loadParams } from "../../src/train/params.ts";
import { SHARED } from "../model/_golden.ts";

// PyTorch float32 gradients (tests/fixtures/train/README.md) against our float64 reference on
// the same inputs. Measured: 2.2e-6 (reference defaults) and 1.3e-5 (KL + entropy only) as the
// max |Δ| over a tensor relative to its largest gradient — torch's own float32 rounding (its
// float64 run differs from its float32 run by as much). 1e-4 keeps an order of magnitude of
// margin; any wrong term (e.g. bf16 instead of f32 RoPE frequencies) costs ≥ 4e-3.
const REL_TOL = 1e-4;
const FIXTURES = new URL("../fixtures/train/", import.meta.url).pathname;

async function torchGrads(cfg: string): Promise<Map<string, Float64Array>> {
  const path = `${FIXTURES}torch_grads_${cfg}.safetensors`;
  const header = await readSafetensorsHeader(path);
  const out = new Map<string, Float64Array>();
  for (const e of header.entries) {
    const bytes = (await readTensorBytes(e)).slice();
    out.set(e.name, Float64Array.from(new Float32Array(bytes.buffer)));
  }
  return out;
}

for (const cfg of ["reference_defaults", "kl_entropy_only"]) {
  Deno.test(`grpoGradients() matches PyTorch's float32 gradients on qwen3-tiny (${cfg})`, async () => {
    const inputs = JSON.parse(await Deno.readTextFile(`${FIXTURES}grad_check_inputs.json`));
    const { config, params } = await loadParams(`${SHARED}fixtures/qwen3-tiny`);
    const ours = ourGradients(config, params, inputs, cfg);
    const torch = await torchGrads(cfg);
    assert(torch.size === params.size, `torch has ${torch.size} tensors, we have ${params.size}`);
    const c = compareGrads(ours.grads, torch);
    assert(c.maxRelErr < REL_TOL, `max relative error ${c.maxRelErr} in ${c.worstTensor}`);
  });
}
