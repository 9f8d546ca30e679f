import { ok as assert } from "node:assert/strict";
import { LOGPROB_NONE, LogprobKernel } from "../../src/gpu/logprob.ts";
import { gpuTest, randomFloats, withContext } from "./_gpu.ts";
import { dispatch, readF32, upload } from "./_run.ts";

gpuTest(
  "LogprobKernel.bind() gives log-softmax at the target and softmax at the EOS within 1e-5",
  async () => {
    // Logits of size ~10 over 1000 entries: f32 log-sum-exp error is ~1e-6.
    const R = 9, V = 1000;
    const logits = randomFloats(R * V, 31, 10);
    const targets = new Uint32Array(2 * R);
    for (let r = 0; r < R; r++) {
      targets[2 * r] = r === 4 ? LOGPROB_NONE : (r * 97) % V;
      targets[2 * r + 1] = r % 2 ? 7 : LOGPROB_NONE;
    }
    const out = await withContext(async (ctx) => {
      const kernel = await LogprobKernel.create(ctx);
      const o = ctx.storage(R * 8, "out");
      const op = kernel.bind(
        ctx.uniform(new Uint32Array([R, 0, 0, 0]), "run"),
        upload(ctx, logits),
        upload(ctx, targets),
        o,
        V,
      );
      await dispatch(ctx, op, R);
      return await readF32(ctx, o, 2 * R);
    });
    for (let r = 0; r < R; r++) {
      const row = logits.subarray(r * V, (r + 1) * V);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
      if (targets[2 * r] === LOGPROB_NONE) {
        assert(
          Number.isNaN(out[2 * r]),
          `row ${r} should be skipped`,
        );
      } else {assert(
          Math.abs(out[2 * r] - (row[targets[2 * r]] - lse)) < 1e-5,
          `row ${r} log-prob`,
        );}
      if (targets[2 * r + 1] === LOGPROB_NONE) assert(Number.isNaN(out[2 * r + 1]));
      else assert(Math.abs(out[2 * r + 1] - Math.exp(row[7] - lse)) < 1e-5, `row ${r} eos`);
    }
  },
);
