import { ok as assert, strictEqual } from "node:assert/strict";
import { loadCpuModel } from "../../src/model/cpu_model.ts";
import { loadModel } from "../../src/model/load.ts";
import { sketchCoefficients } from "../../src/protocol/coefficients.ts";
import {
  checkLogprobsStrict,
  checkSketchesStrict,
  STRICT_POLICY,
} from "../../src/roles/strict_policy.ts";
import { FIXTURE_MODELS, readGolden } from "../model/_golden.ts";

// The reference's bf16-CUDA miner outputs (H100, SDPA, one right-padded batch) against our f32
// CPU forward: the honest drift the strict thresholds are set from.
const cases = await Promise.all(FIXTURE_MODELS.map(async (name) => {
  const golden = await readGolden(name);
  const model = await loadCpuModel(golden.dir);
  const fwd = await model.proofForward(golden.seqs.map((s) => s.inputIds));
  model.dispose();
  return { name, golden, fwd, coeffs: sketchCoefficients(golden.randomness) };
}));

Deno.test("checkSketchesStrict() accepts the reference's bf16-CUDA sketches against our f32 hidden states", () => {
  for (const { name, golden, fwd, coeffs } of cases) {
    golden.seqs.forEach((s, i) => {
      const v = checkSketchesStrict(
        fwd[i].hidden,
        fwd[i].hidden.length / s.inputIds.length,
        s.sketchBf16Cuda,
        coeffs,
        s.promptLen,
      );
      assert(v.ok, `${name} seq${i}: ${JSON.stringify(v)}`);
      assert(v.maxDistance <= 736, `${name} seq${i}: drift grew to ${v.maxDistance}`);
    });
  }
});

Deno.test("checkSketchesStrict() rejects an all-zero commitment on every fixture sequence", () => {
  for (const { golden, fwd, coeffs } of cases) {
    golden.seqs.forEach((s, i) => {
      const v = checkSketchesStrict(
        fwd[i].hidden,
        128,
        new Array(s.inputIds.length).fill(0),
        coeffs,
        s.promptLen,
      );
      strictEqual(v.ok, false);
      strictEqual(v.reason, "exact_fraction");
      strictEqual(v.exact, 0);
    });
  }
});

Deno.test("checkSketchesStrict() rejects a distance above the cap at one position", () => {
  const { golden, fwd, coeffs } = cases[0];
  const s = golden.seqs[2];
  const forged = [...s.sketchBf16Cuda];
  forged[s.promptLen + 3] = (forged[s.promptLen + 3] + STRICT_POLICY.sketchMaxDistance + 1000) %
    2147483647;
  const v = checkSketchesStrict(fwd[2].hidden, 128, forged, coeffs, s.promptLen);
  strictEqual(v.reason, "distance");
});

Deno.test("checkSketchesStrict() rejects a sketch list of the wrong length", () => {
  const { golden, fwd, coeffs } = cases[0];
  const s = golden.seqs[0];
  strictEqual(
    checkSketchesStrict(fwd[0].hidden, 128, s.sketchBf16Cuda.slice(1), coeffs, s.promptLen).reason,
    "shape",
  );
});

Deno.test("checkSketchesStrict() rejects a sketch outside [0, q)", () => {
  const { golden, fwd, coeffs } = cases[0];
  const s = golden.seqs[0];
  const forged = [...s.sketchBf16Cuda];
  forged[0] = -1;
  strictEqual(checkSketchesStrict(fwd[0].hidden, 128, forged, coeffs, s.promptLen).ok, false);
});

Deno.test("checkLogprobsStrict() accepts the reference's bf16-CUDA log-probs against our f32 ones", () => {
  for (const { name, golden, fwd } of cases) {
    golden.seqs.forEach((s, i) => {
      const miner = [
        ...new Array(s.promptLen).fill(0),
        ...Array.from(s.nextTokenLogprobBf16Cuda.subarray(s.promptLen - 1)),
      ];
      const v = checkLogprobsStrict(fwd[i].nextTokenLogprobs, miner, s.promptLen);
      assert(v.ok, `${name} seq${i}: ${JSON.stringify(v)}`);
      // Measured maximum 0.044 nats (docs/verification.md); 0.05 flags a change in the fixtures.
      assert(v.maxAbsDiff < 0.05);
    });
  }
});

Deno.test("checkLogprobsStrict() rejects one log-prob moved by 1 nat", () => {
  const { golden, fwd } = cases[0];
  const s = golden.seqs[1];
  const miner = [
    ...new Array(s.promptLen).fill(0),
    ...Array.from(s.nextTokenLogprobBf16Cuda.subarray(s.promptLen - 1)),
  ];
  miner[s.promptLen + 5] += 1;
  strictEqual(checkLogprobsStrict(fwd[1].nextTokenLogprobs, miner, s.promptLen).reason, "max_diff");
});

Deno.test("checkLogprobsStrict() rejects a NaN log-prob", () => {
  const { golden, fwd } = cases[0];
  const s = golden.seqs[0];
  const miner = [
    ...new Array(s.promptLen).fill(0),
    ...Array.from(s.nextTokenLogprobBf16Cuda.subarray(s.promptLen - 1)),
  ];
  miner[s.promptLen] = NaN;
  strictEqual(checkLogprobsStrict(fwd[0].nextTokenLogprobs, miner, s.promptLen).ok, false);
});

Deno.test("checkLogprobsStrict() rejects a list of the wrong length", () => {
  strictEqual(checkLogprobsStrict(Float32Array.of(-1, -2), [0, -1], 1).reason, "shape");
});

const adapter = await navigator.gpu?.requestAdapter().catch(() => null) ?? null;
if (adapter === null) {
  console.log("strict_policy_test: no WebGPU adapter, WebGPU drift test ignored");
}

Deno.test({
  name: "checkSketchesStrict() accepts the bf16-CUDA sketches against our WebGPU hidden states",
  ignore: adapter === null,
  fn: async () => {
    for (const { name, golden, coeffs } of cases) {
      const model = await loadModel(golden.dir, { backend: "webgpu" });
      try {
        const fwd = await model.proofForward(golden.seqs.map((s) => s.inputIds));
        golden.seqs.forEach((s, i) => {
          const v = checkSketchesStrict(
            fwd[i].hidden,
            model.hiddenSize,
            s.sketchBf16Cuda,
            coeffs,
            s.promptLen,
          );
          assert(v.ok, `${name} seq${i}: ${JSON.stringify(v)}`);
        });
      } finally {
        model.dispose();
      }
    }
  },
});
