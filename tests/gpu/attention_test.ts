import { ok as assert } from "node:assert/strict";
import { attentionBlocks, AttentionKernel } from "../../src/gpu/attention.ts";
import type { GpuContext } from "../../src/gpu/context.ts";
import { gpuTest, maxAbsDiff, randomFloats, sameBits, withContext } from "./_gpu.ts";
import { dispatch, readF32, upload } from "./_run.ts";

const NH = 4, NKV = 2, HS = 32, T = 40;
const q = randomFloats(T * NH * HS, 21, 2);
const k = randomFloats(T * NKV * HS, 22, 2);
const v = randomFloats(T * NKV * HS, 23);

function reference(): Float64Array {
  const out = new Float64Array(T * NH * HS);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < NH; h++) {
      const kh = Math.floor(h / (NH / NKV));
      const s: number[] = [];
      for (let j = 0; j <= t; j++) {
        let d = 0;
        for (let i = 0; i < HS; i++) d += q[(t * NH + h) * HS + i] * k[(j * NKV + kh) * HS + i];
        s.push(d / Math.sqrt(HS));
      }
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let i = 0; i < HS; i++) {
        let o = 0;
        for (let j = 0; j <= t; j++) o += (e[j] / z) * v[(j * NKV + kh) * HS + i];
        out[(t * NH + h) * HS + i] = o;
      }
    }
  }
  return out;
}

async function attend(ctx: GpuContext, blocks: Uint32Array): Promise<Float32Array> {
  const kernel = await AttentionKernel.create(ctx, HS);
  const run = ctx.uniform(new Uint32Array([T, 0, 0, 0]), "run");
  const o = ctx.storage(T * NH * HS * 4, "o");
  const op = kernel.bind(
    { nh: NH, nkv: NKV, hs: HS },
    run,
    upload(ctx, blocks),
    upload(ctx, q),
    upload(ctx, k),
    upload(ctx, v),
    o,
  );
  await dispatch(ctx, op, blocks.length / 4);
  return await readF32(ctx, o, T * NH * HS);
}

gpuTest(
  "AttentionKernel.bind() matches float64 causal grouped-query attention within 1e-5",
  async () => {
    // Softmax weights and values of size ~1 over at most 40 keys: f32 rounding stays near 1e-6.
    const got = await withContext((ctx) =>
      attend(ctx, attentionBlocks([{ firstRow: 0, count: T, kvBase: 0, firstPos: 0 }]))
    );
    const d = maxAbsDiff(got, reference());
    assert(d < 1e-5, `max abs diff ${d}`);
  },
);

gpuTest(
  "AttentionKernel.bind() gives a row the same bits in a full block as alone (decode)",
  async () => {
    await withContext(async (ctx) => {
      const blocked = await attend(
        ctx,
        attentionBlocks([{ firstRow: 0, count: T, kvBase: 0, firstPos: 0 }]),
      );
      const single = await attend(
        ctx,
        attentionBlocks(
          Array.from({ length: T }, (_, t) => ({ firstRow: t, count: 1, kvBase: 0, firstPos: t })),
        ),
      );
      // Blocks starting mid-sequence (as a pass boundary makes them).
      const shifted = await attend(
        ctx,
        attentionBlocks([
          { firstRow: 0, count: 5, kvBase: 0, firstPos: 0 },
          { firstRow: 5, count: T - 5, kvBase: 0, firstPos: 5 },
        ]),
      );
      assert(sameBits(blocked, single), "one-row blocks changed the bits");
      assert(sameBits(blocked, shifted), "block boundaries changed the bits");
    });
  },
);
