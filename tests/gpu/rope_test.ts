import { deepStrictEqual, ok as assert } from "node:assert/strict";
import { RopeKernel } from "../../src/gpu/rope.ts";
import { ropeTable } from "../../src/model/rope.ts";
import { gpuTest, randomFloats, withContext } from "./_gpu.ts";
import { dispatch, readF32, upload } from "./_run.ts";

gpuTest(
  "RopeKernel.bind() normalises q/k per head, rotates them by position and fills the KV cache rows",
  async () => {
    // Per-head RMSNorm (HS = 8 terms) and one rotation: f32 error ~1e-7 against float64.
    const NH = 2, NKV = 1, HS = 8, R = 3, half = HS / 2, eps = 1e-6, cap = 10;
    const width = (NH + 2 * NKV) * HS;
    const qkv = randomFloats(R * width, 71, 2);
    const qn = randomFloats(HS, 72), kn = randomFloats(HS, 73);
    const invFreq = new Float32Array([1, 0.1, 0.01, 0.001]);
    const table = ropeTable(invFreq, 16);
    const rows = [[5, 3, 7, 0], [6, 4, 2, 0], [7, 11, 9, 0]]; // token, pos, kv_row, kv_base
    const out = await withContext(async (ctx) => {
      const kernel = await RopeKernel.create(ctx);
      const q = ctx.storage(R * NH * HS * 4, "q");
      const k = ctx.storage(cap * NKV * HS * 4, "k");
      const v = ctx.storage(cap * NKV * HS * 4, "v");
      const op = kernel.bind({ nh: NH, nkv: NKV, hs: HS, qkNorm: true, eps }, {
        run: ctx.uniform(new Uint32Array([R, 0, 0, 0]), "run"),
        qkv: upload(ctx, qkv),
        rowsMeta: upload(ctx, new Uint32Array(rows.flat())),
        cos: upload(ctx, table.cos),
        sin: upload(ctx, table.sin),
        qNorm: upload(ctx, qn),
        kNorm: upload(ctx, kn),
        q,
        kCache: k,
        vCache: v,
      });
      await dispatch(ctx, op, R);
      return {
        q: await readF32(ctx, q, R * NH * HS),
        k: await readF32(ctx, k, cap * NKV * HS),
        v: await readF32(ctx, v, cap * NKV * HS),
      };
    });
    const rotate = (x: number[], w: Float32Array, pos: number): number[] => {
      const inv = 1 / Math.sqrt(x.reduce((s, a) => s + a * a, 0) / HS + eps);
      const n = x.map((a, i) => a * inv * w[i]);
      const o = new Array(HS);
      for (let i = 0; i < half; i++) {
        const c = table.cos[pos * half + i], s = table.sin[pos * half + i];
        o[i] = n[i] * c - n[i + half] * s;
        o[i + half] = n[i + half] * c + n[i] * s;
      }
      return o;
    };
    rows.forEach(([, pos, kvRow], r) => {
      for (let h = 0; h < NH + NKV; h++) {
        const x = [...qkv.subarray(r * width + h * HS, r * width + (h + 1) * HS)];
        const want = rotate(x, h < NH ? qn : kn, pos);
        const got = h < NH ? out.q.subarray((r * NH + h) * HS) : out.k.subarray(kvRow * HS);
        want.forEach((w, i) => assert(Math.abs(got[i] - w) < 1e-5, `row ${r} head ${h} dim ${i}`));
      }
      const vh = qkv.subarray(r * width + (NH + NKV) * HS, (r + 1) * width);
      deepStrictEqual(out.v.subarray(kvRow * HS, (kvRow + 1) * HS), vh);
    });
  },
);
