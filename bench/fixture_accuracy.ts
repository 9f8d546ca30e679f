/**
 * Accuracy of the WebGPU model on the shared fixture models against the Hugging Face float32
 * reference: max |Δ| of hidden states and next-token log-probs, exact sketch matches with
 * sketch_f32, and bf16-CUDA commitments verified at the challenged indices. One JSON line per
 * (model, precision). Needs ../shared/fixtures (tests' data, not the product's).
 *
 *   deno run -A bench/fixture_accuracy.ts [--precision f32|f16|all]
 */
import { openCheckpoint } from "../src/model/checkpoint.ts";
import { WebGpuModel } from "../src/gpu/webgpu_model.ts";
import type { WeightDType } from "../src/gpu/weights.ts";
import { sketchCoefficients } from "../src/protocol/coefficients.ts";
import { verifySketch } from "../src/protocol/verify.ts";
import { FIXTURE_MODELS, readGolden } from "../tests/model/_golden.ts";
import { flags } from "./_random_checkpoint.ts";

const f = flags(Deno.args);
const wanted = f.get("precision") ?? "all";
const precisions: WeightDType[] = wanted === "all" ? ["f32", "f16"] : [wanted as WeightDType];
for (const name of FIXTURE_MODELS) {
  const golden = await readGolden(name);
  for (const precision of precisions) {
    const ckpt = await openCheckpoint(golden.dir);
    let model: WebGpuModel;
    try {
      model = await WebGpuModel.load(ckpt, { precision });
    } catch (e) {
      console.log(
        JSON.stringify({ name: "fixture_accuracy", shape: name, precision, error: String(e) }),
      );
      continue;
    } finally {
      ckpt.close();
    }
    const coeffs = sketchCoefficients(golden.randomness);
    const res = await model.proofForward(golden.seqs.map((s) => s.inputIds), {
      sketchCoefficients: coeffs,
    });
    let dh = 0, dl = 0, exact = 0, total = 0, verified = 0, challenged = 0;
    golden.seqs.forEach((g, s) => {
      res[s].hidden.forEach((v, i) => dh = Math.max(dh, Math.abs(v - g.hiddenF32[i])));
      res[s].nextTokenLogprobs.forEach((v, i) =>
        dl = Math.max(dl, Math.abs(v - g.nextTokenLogprobF32[i]))
      );
      g.sketchF32.forEach((v, p) => {
        total++;
        if (res[s].sketches![p] === v) exact++;
      });
      for (const p of g.indices) {
        challenged++;
        if (verifySketch(res[s].sketches![p], g.sketchBf16Cuda[p], p).ok) verified++;
      }
    });
    console.log(JSON.stringify({
      name: "fixture_accuracy",
      device: model.context.description,
      shape: name,
      precision,
      maxAbsHidden: dh,
      maxAbsLogprob: dl,
      sketchExact: `${exact}/${total}`,
      bf16CommitmentsVerified: `${verified}/${challenged}`,
    }));
    model.dispose();
  }
}
