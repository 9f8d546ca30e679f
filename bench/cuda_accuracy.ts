/**
 * Accuracy of the CUDA model on the shared fixture models: max |Δ| of hidden states and
 * next-token log-probs against the Hugging Face float32 reference and against the reference's
 * bf16-CUDA run, exact sketch matches with sketch_f32 and sketch_bf16_cuda, and the bf16-CUDA
 * commitments verified at the challenged indices. One JSON line per (model, precision). Needs
 * ../shared/fixtures (tests' data, not the product's).
 *
 *   deno run -A bench/cuda_accuracy.ts [--precision bf16|f32|all]
 */
import { openCheckpoint } from "../src/model/checkpoint.ts";
import { CudaModel } from "../src/cuda/cuda_model.ts";
import type { CudaPrecision } from "../src/cuda/kernels_source.ts";
import { sketches } from "../src/protocol/sketch.ts";
import { sketchCoefficients } from "../src/protocol/coefficients.ts";
import { verifySketch } from "../src/protocol/verify.ts";
import { FIXTURE_MODELS, readGolden } from "../tests/model/_golden.ts";
import { flags } from "./_random_checkpoint.ts";

const f = flags(Deno.args);
const wanted = f.get("precision") ?? "all";
const precisions: CudaPrecision[] = wanted === "all" ? ["bf16", "f32"] : [wanted as CudaPrecision];
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
for (const name of FIXTURE_MODELS) {
  const golden = await readGolden(name);
  for (const precision of precisions) {
    const ckpt = await openCheckpoint(golden.dir);
    const model = await CudaModel.load(ckpt, { precision });
    ckpt.close();
    const coeffs = sketchCoefficients(golden.randomness);
    const res = await model.proofForward(golden.seqs.map((s) => s.inputIds));
    let dh = 0, dl = 0, dhB = 0, dlB = 0;
    let exactF32 = 0, exactB = 0, total = 0, verified = 0, challenged = 0;
    golden.seqs.forEach((g, s) => {
      dh = Math.max(dh, maxAbs(res[s].hidden, g.hiddenF32));
      dl = Math.max(dl, maxAbs(res[s].nextTokenLogprobs, g.nextTokenLogprobF32));
      dhB = Math.max(dhB, maxAbs(res[s].hidden, g.hiddenBf16Cuda));
      dlB = Math.max(dlB, maxAbs(res[s].nextTokenLogprobs, g.nextTokenLogprobBf16Cuda));
      const sk = sketches(res[s].hidden, model.hiddenSize, coeffs);
      g.sketchF32.forEach((v, p) => {
        total++;
        if (sk[p] === v) exactF32++;
        if (sk[p] === g.sketchBf16Cuda[p]) exactB++;
      });
      for (const p of g.indices) {
        challenged++;
        if (verifySketch(sk[p], g.sketchBf16Cuda[p], p).ok) verified++;
      }
    });
    console.log(JSON.stringify({
      name: "fixture_accuracy",
      backend: "cuda",
      device: model.context.name,
      shape: name,
      precision,
      maxAbsHiddenVsF32: dh,
      maxAbsLogprobVsF32: dl,
      maxAbsHiddenVsBf16Cuda: dhB,
      maxAbsLogprobVsBf16Cuda: dlB,
      sketchExactF32: `${exactF32}/${total}`,
      sketchExactBf16Cuda: `${exactB}/${total}`,
      bf16CommitmentsVerified: `${verified}/${challenged}`,
    }));
    model.dispose();
  }
}
