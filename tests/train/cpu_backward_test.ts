import { ok as assert, throws } from "node:assert/strict";
import { policyForward } from "../../src/train/cpu_backward.ts";
import { loadParams } from "../../src/train/params.ts";
import { FIXTURE_MODELS, readGolden } from "../model/_golden.ts";
import { tinyParams } from "./_tiny.ts";

// Against Hugging Face float32 log-probs: ours is float64 end to end, theirs float32, so they
// differ by float32 rounding accumulated through the layers (~1e-6 here); 1e-4 is a wide margin
// that still catches any wrong op (those move log-probs by O(0.1)).
const LOGPROB_TOL = 1e-4;

for (const name of FIXTURE_MODELS) {
  Deno.test(`policyForward() matches Hugging Face float32 log-probs on ${name}`, async () => {
    const golden = await readGolden(name);
    const { config, params } = await loadParams(golden.dir);
    for (const seq of golden.seqs.slice(0, 2)) {
      const P = seq.promptLen;
      const stats = policyForward(config, params, { tokens: seq.inputIds, promptLength: P });
      for (let j = 0; j < stats.logprobs.length; j++) {
        const hf = seq.nextTokenLogprobF32[P - 1 + j];
        assert(
          Math.abs(stats.logprobs[j] - hf) < LOGPROB_TOL,
          `token ${j}: ${stats.logprobs[j]} vs ${hf}`,
        );
      }
    }
  });
}

Deno.test("policyForward() rejects a prompt covering the whole sequence", async () => {
  const { config, params } = await tinyParams("qwen3");
  throws(
    () => policyForward(config, params, { tokens: [1, 2], promptLength: 2 }),
    /promptLength: got 2 for 2 tokens/,
  );
});

Deno.test("policyForward() rejects a token outside the vocabulary", async () => {
  const { config, params } = await tinyParams("qwen3");
  throws(
    () => policyForward(config, params, { tokens: [1, 99], promptLength: 1 }),
    /tokens\[1\]: got 99/,
  );
});
