import { ok as assert } from "node:assert/strict";
import type { Architecture, ModelConfig } from "../../src/model/config.ts";
import { policyForward } from "../../src/train/cpu_backward.ts";
import { grpoLoss } from "../../src/train/grpo_loss.ts";
import { grpoGradients, type GrpoSample } from "../../src/train/grpo_step.ts";
import { cloneParams, type Params } from "../../src/train/params.ts";
import { lcg, tinyParams } from "./_tiny.ts";

// Central differences in float64 with h = 1e-5: truncation error ~h²·|L'''| ≈ 1e-10 and
// rounding ~1e-16/h ≈ 1e-11, so a correct gradient agrees to ~1e-9. The bound below (1e-6
// absolute + 1e-4 relative) leaves room for unlucky curvature while a wrong derivative of any op
// (a sign, a missing term, a transposed index) is off by O(|g|) and fails by orders of magnitude.
const H = 1e-5;
const ABS_TOL = 1e-6;
const REL_TOL = 1e-4;

function lossOf(
  config: ModelConfig,
  policy: Params,
  reference: Params,
  samples: GrpoSample[],
): number {
  const seqs = samples.map((s) => {
    const cur = policyForward(config, policy, s);
    return {
      lpCur: cur.logprobs,
      lpOld: s.behaviourLogprobs,
      lpRef: policyForward(config, reference, s).logprobs,
      entropy: cur.entropy,
      advantage: s.advantage,
    };
  });
  // A large KL and entropy weight so their gradients are visible next to the policy term.
  return grpoLoss(seqs, { klCoef: 0.5, entropyCoef: 0.3 }).loss;
}

async function checkArchitecture(
  architecture: Architecture,
  extra: { tieWordEmbeddings?: boolean; attentionBias?: boolean } = {},
): Promise<void> {
  const { config, params } = await tinyParams(architecture, extra);
  const rand = lcg(7);
  // The reference model differs from the policy so the KL gradient is not zero.
  const reference = cloneParams(params);
  for (const t of reference.values()) {
    for (let i = 0; i < t.data.length; i++) t.data[i] += 0.02 * (rand() - 0.5);
  }
  const V = config.vocabSize;
  const tok = () => Math.floor(rand() * V);
  const samples: GrpoSample[] = [];
  // Old log-probs a little off the current ones so ratios sit inside the clip range (where the
  // loss is smooth) for two sequences, and far outside (clipped, zero policy gradient) for one.
  for (const [T, P, shift, A] of [[7, 3, 0.05, 1.3], [5, 1, -0.1, -0.7], [6, 4, 2, 0.9]]) {
    const tokens = Array.from({ length: T }, tok);
    const lp = policyForward(config, params, { tokens, promptLength: P }).logprobs;
    samples.push({
      tokens,
      promptLength: P,
      behaviourLogprobs: lp.map((x) => x - shift),
      advantage: A,
    });
  }
  const { grads } = grpoGradients(config, params, reference, samples, {
    klCoef: 0.5,
    entropyCoef: 0.3,
  });
  let checked = 0, worst = 0;
  for (const [name, t] of params) {
    // Three entries per tensor, always including the first and last.
    const picks = new Set([0, t.data.length - 1, Math.floor(rand() * t.data.length)]);
    for (const i of picks) {
      const x0 = t.data[i];
      t.data[i] = x0 + H;
      const up = lossOf(config, params, reference, samples);
      t.data[i] = x0 - H;
      const down = lossOf(config, params, reference, samples);
      t.data[i] = x0;
      const fd = (up - down) / (2 * H);
      const g = grads.get(name)!.data[i];
      const err = Math.abs(fd - g);
      worst = Math.max(worst, err / (ABS_TOL + REL_TOL * Math.abs(fd)));
      assert(
        err <= ABS_TOL + REL_TOL * Math.abs(fd),
        `${architecture} ${name}[${i}]: analytic ${g}, finite difference ${fd}`,
      );
      checked++;
    }
  }
  assert(checked >= 3 * params.size - params.size, `only ${checked} entries checked`);
  assert(worst < 1, `worst error ratio ${worst}`);
}

Deno.test("grpoGradients() matches finite differences on a tiny Qwen3 (q/k norm, tied head)", async () => {
  await checkArchitecture("qwen3");
});

Deno.test("grpoGradients() matches finite differences on a tiny Qwen2 (q/k/v biases, untied head)", async () => {
  await checkArchitecture("qwen2");
});

Deno.test("grpoGradients() matches finite differences on a tiny Llama with attention biases", async () => {
  await checkArchitecture("llama", { attentionBias: true });
});

Deno.test("grpoGradients() gives zero policy gradient for a sequence clipped beyond its ratio bound", async () => {
  const { config, params } = await tinyParams("qwen3");
  const tokens = [1, 2, 3, 4, 5];
  const lp = policyForward(config, params, { tokens, promptLength: 2 }).logprobs;
  // Ratio e² ≫ 1.28 with a positive advantage: the clipped branch is the minimum, flat in θ.
  const r = grpoGradients(config, params, null, [
    { tokens, promptLength: 2, behaviourLogprobs: lp.map((x) => x - 2), advantage: 1 },
  ], { entropyCoef: 0 });
  for (const [name, t] of r.grads) {
    assert(t.data.every((g) => g === 0), `${name} has a non-zero gradient`);
  }
});
