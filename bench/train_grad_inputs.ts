/**
 * Writes the fixed inputs of the PyTorch gradient check (tests/fixtures/train/grad_check_inputs.json):
 * sequences of the qwen3-tiny fixture's vocabulary, behaviour and reference log-probs placed
 * around our own float64 log-probs so that some ratios sit inside the clip range and one is
 * clipped, and advantages. Usage: deno run -A bench/train_grad_inputs.ts [fixtureDir] [outFile]
 */
import { policyForward } from "../src/train/cpu_backward.ts";
import { loadParams } from "../src/train/params.ts";
import { SeededRandom } from "../src/model/seeded_random.ts";

const dir = Deno.args[0] ?? new URL("../../shared/fixtures/qwen3-tiny", import.meta.url).pathname;
const outFile = Deno.args[1] ?? "tests/fixtures/train/grad_check_inputs.json";
const { config, params } = await loadParams(dir);
const rng = new SeededRandom(2026);
// [T, P, behaviour shift (log-ratio), advantage]: ratios e^0.05, e^-0.1, e^0.6 (clipped, A > 0),
// e^-0.02 and e^-0.4 (below 0.8 with A < 0: clipped branch is the minimum).
const shapes: [number, number, number, number][] = [
  [40, 12, 0.05, 1.2],
  [33, 9, -0.1, -0.8],
  [28, 20, 0.6, 0.9],
  [36, 5, -0.02, -1.5],
  [30, 14, -0.4, -0.3],
];
const sequences = shapes.map(([T, P, shift, advantage]) => {
  const tokens = Array.from({ length: T }, () => Math.floor(rng.random() * config.vocabSize));
  const lp = policyForward(config, params, { tokens, promptLength: P }).logprobs;
  return {
    tokens,
    prompt_length: P,
    behaviour_logprobs: Array.from(lp, (x) => x - shift + 0.05 * (rng.random() - 0.5)),
    reference_logprobs: Array.from(lp, (x) => x + 0.2 * (rng.random() - 0.5)),
    advantage: advantage,
  };
});
const body = {
  model: "qwen3-tiny",
  note: "inputs of bench/torch_grad_check.py; see tests/fixtures/train/README.md",
  configs: {
    reference_defaults: { kl_coef: 0.02, entropy_coef: 0.001, use_advantages: true },
    kl_entropy_only: { kl_coef: 1.0, entropy_coef: 1.0, use_advantages: false },
  },
  adv_clip_percentile: 99,
  sequences,
};
await Deno.writeTextFile(outFile, JSON.stringify(body) + "\n");
