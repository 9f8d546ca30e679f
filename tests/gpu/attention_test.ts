import { ok as assert } from "node:assert/strict";
import {
  attentionBlocks,
  AttentionKernel,
  type AttentionOptions,
} from "../../src/gpu/attention.ts";
import type { GpuContext } from "../../src/gpu/context.ts";
import {
  gpuSubgroupTest,
  gpuTest,
  maxAbsDiff,
  randomFloats,
  sameBits,
  withContext,
} from "./_gpu.ts";
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

async function attend(
  ctx: GpuContext,
  blocks: Uint32Array,
  options: AttentionOptions = {},
): Promise<Float32Array> {
  const kernel = await AttentionKernel.create(ctx, HS, options);
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

gpuTest("AttentionKernel.create() gives the same bits for 16 keys per load as for 64", async () => {
  // The load size only groups the 16-key tiles; each tile's arithmetic is unchanged. T = 40 ends
  // inside the first 64-key load, and one-row blocks end anywhere. (Each size is one more
  // pipeline, about a minute of llvmpipe compile time: two sizes only.)
  const all = attentionBlocks([{ firstRow: 0, count: T, kvBase: 0, firstPos: 0 }]);
  const single = attentionBlocks(
    Array.from({ length: T }, (_, t) => ({ firstRow: t, count: 1, kvBase: 0, firstPos: t })),
  );
  await withContext(async (ctx) => {
    const base = await attend(ctx, all, { keysPerLoad: 16 });
    assert(sameBits(base, await attend(ctx, all, { keysPerLoad: 64 })), "64 keys per load");
    assert(sameBits(base, await attend(ctx, single, { keysPerLoad: 64 })), "64, one-row blocks");
  });
});

gpuTest("AttentionKernel.create() rejects keysPerLoad that is not a multiple of 16", async () => {
  await withContext(async (ctx) => {
    await AttentionKernel.create(ctx, HS, { keysPerLoad: 24 }).then(
      () => assert(false, "no error"),
      (e) => assert(e instanceof RangeError && /24/.test(e.message), String(e)),
    );
  });
});

gpuSubgroupTest(
  "AttentionKernel.create() gives the same bits with subgroup shuffles as through shared memory",
  async () => {
    // Same values, same order: the max is exact, the weights move unchanged between lanes.
    await withContext(async (ctx) => {
      for (const hs of [32, 64, 128]) {
        const [nh, nkv, t] = [4, 2, 70];
        const data = [randomFloats(t * nh * hs, hs + 1, 2)];
        data.push(randomFloats(t * nkv * hs, hs + 2, 2), randomFloats(t * nkv * hs, hs + 3));
        const run = ctx.uniform(new Uint32Array([t, 0, 0, 0]), "run");
        const [qb, kb, vb] = data.map((d) => upload(ctx, d));
        const out = async (blocks: Uint32Array, subgroups: boolean) => {
          const kernel = await AttentionKernel.create(ctx, hs, { subgroups });
          assert(kernel.subgroups === subgroups);
          const o = ctx.storage(t * nh * hs * 4, "o");
          const op = kernel.bind({ nh, nkv, hs }, run, upload(ctx, blocks), qb, kb, vb, o);
          await dispatch(ctx, op, blocks.length / 4);
          return await readF32(ctx, o, t * nh * hs);
        };
        const all = attentionBlocks([{ firstRow: 0, count: t, kvBase: 0, firstPos: 0 }]);
        const single = attentionBlocks(
          Array.from({ length: t }, (_, i) => ({ firstRow: i, count: 1, kvBase: 0, firstPos: i })),
        );
        const base = await out(all, false);
        assert(sameBits(base, await out(all, true)), `HS ${hs}: subgroups changed the bits`);
        assert(sameBits(base, await out(single, true)), `HS ${hs}: one-row blocks`);
      }
    });
  },
);

gpuTest(
  "AttentionKernel.create() gives the same bits with 16 rows per block as with 32",
  async () => {
    // Rows per block only decides which rows share a workgroup; each row's arithmetic is its own.
    const runs = [{ firstRow: 0, count: T, kvBase: 0, firstPos: 0 }];
    await withContext(async (ctx) => {
      const base = await attend(ctx, attentionBlocks(runs, 32), { rowsPerBlock: 32 });
      const small = await attend(ctx, attentionBlocks(runs, 16), { rowsPerBlock: 16 });
      assert(sameBits(base, small), "16 rows per block changed the bits");
      await AttentionKernel.create(ctx, HS, { rowsPerBlock: 24 }).then(
        () => assert(false, "no error for 24 rows per block"),
        (e) => assert(e instanceof RangeError && /24/.test(e.message), String(e)),
      );
    });
  },
);
