import { ok as assert } from "node:assert/strict";
import { type Dispatch, encodeDispatch, type GpuContext } from "../../../src/gpu/context.ts";
import {
  BackwardKernels,
  groupTokens,
  SUMSQ_CHUNK,
} from "../../../src/gpu/train/backward_kernels.ts";
import {
  attention,
  attentionBackward,
  matmulBackward,
  rmsnormBackward,
  rope,
} from "../../../src/train/_cpu_ops.ts";
import { AdamW } from "../../../src/train/adamw.ts";
import { ropeTable } from "../../../src/model/rope.ts";
import { gpuTest, randomFloats, sameBits, withContext } from "../_gpu.ts";

// Each kernel runs in f32 against the float64 CPU reference on the same f32 inputs. The sums are
// short (≤ 64 terms of O(1) values), so f32 rounding leaves errors ~1e-6; TOL = 2e-5 relative to
// the largest reference value catches any wrong index or term (those err by O(1)).
const TOL = 2e-5;

function upload(ctx: GpuContext, data: ArrayLike<number>, label: string, u32 = false): GPUBuffer {
  const arr = u32 ? Uint32Array.from(data) : Float32Array.from(data);
  const buf = ctx.storage(Math.max(4, arr.byteLength), label);
  if (arr.byteLength > 0) ctx.write(buf, 0, arr);
  return buf;
}

async function run(ctx: GpuContext, ops: Dispatch[]): Promise<void> {
  const enc = ctx.device.createCommandEncoder();
  for (const op of ops) {
    // One pass per dispatch: later passes read what earlier ones wrote.
    const pass = enc.beginComputePass();
    encodeDispatch(pass, op, 0);
    pass.end();
  }
  ctx.device.queue.submit([enc.finish()]);
  await ctx.device.queue.onSubmittedWorkDone();
  ctx.checkAlive();
}

async function read(ctx: GpuContext, buf: GPUBuffer, n: number): Promise<Float32Array> {
  return new Float32Array(await ctx.read(buf, 0, n * 4));
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert(got.length === want.length, `${what}: length ${got.length} vs ${want.length}`);
  let scale = 1e-30;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) / scale;
    assert(err <= TOL, `${what}[${i}]: got ${got[i]}, want ${want[i]} (error ${err} of max)`);
  }
}

const f64 = (a: Float32Array) => Float64Array.from(a);

gpuTest("BackwardKernels.bindGemm() gives dx = dy·w and dw += dyᵀ·x of a matmul", async () => {
  await withContext(async (ctx) => {
    const k = await BackwardKernels.create(ctx);
    const T = 5, IC = 19, OC = 23;
    const dy = randomFloats(T * OC, 1), x = randomFloats(T * IC, 2), w = randomFloats(OC * IC, 3);
    const dw0 = randomFloats(OC * IC, 4);
    const bdx = upload(ctx, new Float32Array(T * IC), "dx");
    const bdw = upload(ctx, dw0, "dw");
    const bdy = upload(ctx, dy, "dy"), bx = upload(ctx, x, "x"), bw = upload(ctx, w, "w");
    await run(ctx, [
      k.bindGemm(bdy, bw, bdx, { M: T, N: IC, K: OC, beta: 0 }, [OC, 1], [IC, 1]),
      k.bindGemm(bdy, bx, bdw, { M: OC, N: IC, K: T, beta: 1 }, [1, OC], [IC, 1]),
    ]);
    const dx = new Float64Array(T * IC), dw = f64(dw0);
    matmulBackward(dx, dw, null, f64(dy), f64(x), f64(w), T, IC, OC);
    assertClose(await read(ctx, bdx, T * IC), dx, "dx");
    assertClose(await read(ctx, bdw, OC * IC), dw, "dw");
  });
});

gpuTest("BackwardKernels.bindBiasGrad() adds the column sums of dy", async () => {
  await withContext(async (ctx) => {
    const k = await BackwardKernels.create(ctx);
    const T = 6, OC = 300;
    const dy = randomFloats(T * OC, 5);
    const db = upload(ctx, new Float32Array(OC).fill(1), "db");
    await run(ctx, [k.bindBiasGrad(upload(ctx, dy, "dy"), db, T, OC, upload(ctx, [0], "d"))]);
    const want = new Float64Array(OC).fill(1);
    for (let t = 0; t < T; t++) for (let o = 0; o < OC; o++) want[o] += dy[t * OC + o];
    assertClose(await read(ctx, db, OC), want, "db");
  });
});

gpuTest(
  "BackwardKernels.bindRmsnormBackward() matches the reference and accumulates dx",
  async () => {
    await withContext(async (ctx) => {
      const k = await BackwardKernels.create(ctx);
      const rows = 7, D = 300, eps = 1e-6;
      const dy = randomFloats(rows * D, 6), x = randomFloats(rows * D, 7);
      const w = randomFloats(D, 8).map((v) => 1 + 0.3 * v);
      const dx0 = randomFloats(rows * D, 9);
      const bdx = upload(ctx, dx0, "dx"), bdw = upload(ctx, new Float32Array(D), "dw");
      await run(
        ctx,
        k.bindRmsnormBackward(
          upload(ctx, dy, "dy"),
          upload(ctx, x, "x"),
          upload(ctx, w, "w"),
          bdx,
          upload(ctx, new Float32Array(rows), "rstd"),
          bdw,
          { rows, D, eps, accumulate: true },
        ),
      );
      const rstd = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        let ss = 0;
        for (let i = 0; i < D; i++) ss += x[r * D + i] ** 2;
        rstd[r] = 1 / Math.sqrt(ss / D + eps);
      }
      const dx = new Float64Array(rows * D), dw = new Float64Array(D);
      rmsnormBackward(dx, dw, f64(dy), f64(x), rstd, f64(w), rows, D);
      for (let i = 0; i < dx.length; i++) dx[i] += dx0[i];
      assertClose(await read(ctx, bdx, rows * D), dx, "dx");
      assertClose(await read(ctx, bdw, D), dw, "dw");
    });
  },
);

gpuTest("BackwardKernels.bindRopeBackward() applies the inverse rotation", async () => {
  await withContext(async (ctx) => {
    const k = await BackwardKernels.create(ctx);
    const T = 9, heads = 3, HS = 8;
    const invFreq = Float32Array.from(
      { length: HS / 2 },
      (_, i) => Math.fround(10000 ** (-2 * i / HS)),
    );
    const { cos, sin } = ropeTable(invFreq, T);
    const g = randomFloats(T * heads * HS, 10);
    const bg = upload(ctx, g, "g");
    await run(ctx, [
      k.bindRopeBackward(upload(ctx, cos, "cos"), upload(ctx, sin, "sin"), bg, { T, heads, HS }),
    ]);
    const want = f64(g);
    rope(want, T, heads, HS, invFreq, -1);
    assertClose(await read(ctx, bg, g.length), want, "dg");
  });
});

gpuTest(
  "BackwardKernels.bindAttentionBackward() gives dq, dk, dv of causal GQA attention",
  async () => {
    await withContext(async (ctx) => {
      const k = await BackwardKernels.create(ctx);
      const T = 70, NH = 4, NKV = 2, HS = 8; // T > SMALL_WG: threads loop over keys
      const QD = NH * HS, KVD = NKV * HS;
      const q = randomFloats(T * QD, 11), kk = randomFloats(T * KVD, 12);
      const v = randomFloats(T * KVD, 13), dout = randomFloats(T * QD, 14);
      const bufs = {
        q: upload(ctx, q, "q"),
        k: upload(ctx, kk, "k"),
        v: upload(ctx, v, "v"),
        dout: upload(ctx, dout, "dout"),
        probs: upload(ctx, new Float32Array(NH * T * T), "p"),
        dscores: upload(ctx, new Float32Array(NH * T * T), "ds"),
        dq: upload(ctx, new Float32Array(T * QD), "dq"),
        dk: upload(ctx, new Float32Array(T * KVD), "dk"),
        dv: upload(ctx, new Float32Array(T * KVD), "dv"),
      };
      await run(ctx, k.bindAttentionBackward(bufs, { T, NH, NKV, HS }));
      const probs = new Float64Array(NH * T * T);
      attention(new Float64Array(T * QD), probs, f64(q), f64(kk), f64(v), T, NH, NKV, HS);
      const dq = new Float64Array(T * QD),
        dk = new Float64Array(T * KVD),
        dv = new Float64Array(T * KVD);
      attentionBackward(dq, dk, dv, f64(dout), probs, f64(q), f64(kk), f64(v), T, NH, NKV, HS);
      assertClose(await read(ctx, bufs.dq, dq.length), dq, "dq");
      assertClose(await read(ctx, bufs.dk, dk.length), dk, "dk");
      assertClose(await read(ctx, bufs.dv, dv.length), dv, "dv");
    });
  },
);

gpuTest("BackwardKernels.bindSwigluBackward() differentiates silu(gate)·up", async () => {
  await withContext(async (ctx) => {
    const k = await BackwardKernels.create(ctx);
    const n = 1000;
    const dh = randomFloats(n, 15), gate = randomFloats(n, 16, 4), up = randomFloats(n, 17);
    const bg = upload(ctx, new Float32Array(n), "dg"), bu = upload(ctx, new Float32Array(n), "du");
    await run(ctx, [
      k.bindSwigluBackward(
        upload(ctx, dh, "dh"),
        upload(ctx, gate, "g"),
        upload(ctx, up, "u"),
        bg,
        bu,
        n,
      ),
    ]);
    // Independent check: central differences of h(g, u) = g·σ(g)·u in float64 (error ~1e-10).
    const h = (g: number, u: number) => g / (1 + Math.exp(-g)) * u;
    const e = 1e-5;
    const wantG = Array.from(gate, (g, i) => dh[i] * (h(g + e, up[i]) - h(g - e, up[i])) / (2 * e));
    const wantU = Array.from(gate, (g, i) => dh[i] * h(g, 1));
    assertClose(await read(ctx, bg, n), wantG, "dgate");
    assertClose(await read(ctx, bu, n), wantU, "dup");
  });
});

gpuTest(
  "BackwardKernels.bindEmbeddingBackward() adds each position's gradient to its token row",
  async () => {
    await withContext(async (ctx) => {
      const k = await BackwardKernels.create(ctx);
      const V = 11, C = 70, tokens = [3, 7, 3, 0, 10, 7, 3];
      const dx = randomFloats(tokens.length * C, 18);
      const g = groupTokens(tokens);
      const dE0 = randomFloats(V * C, 19);
      const bE = upload(ctx, dE0, "dE");
      await run(ctx, [
        k.bindEmbeddingBackward(
          upload(ctx, dx, "dx"),
          upload(ctx, g.rows, "rows", true),
          upload(ctx, g.starts, "starts", true),
          upload(ctx, g.positions, "pos", true),
          bE,
          { C, U: g.rows.length },
        ),
      ]);
      const want = f64(dE0);
      tokens.forEach((id, t) => {
        for (let c = 0; c < C; c++) want[id * C + c] += dx[t * C + c];
      });
      assertClose(await read(ctx, bE, V * C), want, "dE");
    });
  },
);

gpuTest(
  "BackwardKernels.bindLogprobBackward() gives lp, entropy and their logit gradient",
  async () => {
    await withContext(async (ctx) => {
      const k = await BackwardKernels.create(ctx);
      const rows = 3, V = 1000;
      const z = randomFloats(rows * V, 20, 6);
      const targets = [5, 999, 0], dlp = [0.7, -1.3, 0.2], dh = [0.01, -0.5, 2];
      const bdz = upload(ctx, new Float32Array(rows * V), "dz");
      const bst = upload(ctx, new Float32Array(rows * 2), "stats");
      await run(ctx, [
        k.bindLogprobBackward(
          upload(ctx, z, "z"),
          upload(ctx, targets, "y", true),
          upload(ctx, dlp, "dlp"),
          upload(ctx, dh, "dh"),
          bdz,
          bst,
          { rows, V },
        ),
      ]);
      const stats = await read(ctx, bst, rows * 2);
      const dz = await read(ctx, bdz, rows * V);
      for (let r = 0; r < rows; r++) {
        const row = f64(z.subarray(r * V, (r + 1) * V));
        const f = (zz: Float64Array) => {
          let m = -Infinity;
          for (const x of zz) m = Math.max(m, x);
          let s = 0;
          for (const x of zz) s += Math.exp(x - m);
          const lse = m + Math.log(s);
          let H = 0;
          for (const x of zz) H -= Math.exp(x - lse) * (x - lse);
          return { lp: zz[targets[r]] - lse, H };
        };
        const base = f(row);
        // lp and H are O(1..7): absolute 1e-5 is f32 rounding of a 1000-term sum with margin.
        assert(
          Math.abs(stats[2 * r] - base.lp) < 1e-5,
          `lp row ${r}: ${stats[2 * r]} vs ${base.lp}`,
        );
        assert(
          Math.abs(stats[2 * r + 1] - base.H) < 1e-5,
          `H row ${r}: ${stats[2 * r + 1]} vs ${base.H}`,
        );
        // Central differences of dlp·lp + dh·H in float64 (an independent derivative).
        const want = new Float64Array(V);
        for (let v = 0; v < V; v++) {
          const x0 = row[v];
          row[v] = x0 + 1e-6;
          const a = f(row);
          row[v] = x0 - 1e-6;
          const b = f(row);
          row[v] = x0;
          want[v] = (dlp[r] * (a.lp - b.lp) + dh[r] * (a.H - b.H)) / 2e-6;
        }
        assertClose(dz.subarray(r * V, (r + 1) * V), want, `dz row ${r}`);
      }
    });
  },
);

gpuTest("BackwardKernels.bindAdamW() follows torch's AdamW with the clip scale", async () => {
  await withContext(async (ctx) => {
    const k = await BackwardKernels.create(ctx);
    const n = 5000;
    const p0 = randomFloats(n, 21), g = randomFloats(n, 22);
    const bufs = {
      param: upload(ctx, p0, "p"),
      grad: upload(ctx, g, "g"),
      m: upload(ctx, new Float32Array(n), "m"),
      v: upload(ctx, new Float32Array(n), "v"),
      partials: upload(ctx, new Float32Array(Math.ceil(n / SUMSQ_CHUNK)), "partials"),
    };
    const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const clip = 0.25;
    await run(ctx, [
      k.bindAdamW(bufs, n, { ...hp, step: 1, clip }),
      k.bindAdamW(bufs, n, { ...hp, step: 2, clip }),
    ]);
    const params = new Map([["w", { shape: [n], data: f64(p0) }]]);
    const grads = new Map([["w", { shape: [n], data: Float64Array.from(g, (x) => x * clip) }]]);
    const opt = new AdamW(hp);
    opt.step(params, grads);
    opt.step(params, grads);
    // Parameters move by ~2e-3 from O(1) values; f32 keeps ~1e-7 absolute.
    const got = await read(ctx, bufs.param, n);
    for (let i = 0; i < n; i++) {
      assert(Math.abs(got[i] - params.get("w")!.data[i]) < 1e-6, `param[${i}]`);
    }
  });
});

gpuTest("BackwardKernels.bindSumSquares() partials add up to the squared norm", async () => {
  await withContext(async (ctx) => {
    const k = await BackwardKernels.create(ctx);
    const n = 3 * SUMSQ_CHUNK + 17;
    const g = randomFloats(n, 23);
    const chunks = Math.ceil(n / SUMSQ_CHUNK);
    const bp = upload(ctx, new Float32Array(chunks), "partials");
    await run(ctx, [k.bindSumSquares(upload(ctx, g, "g"), bp, n, upload(ctx, [0], "d"))]);
    const parts = await read(ctx, bp, chunks);
    for (let c = 0; c < chunks; c++) {
      let want = 0;
      for (let i = c * SUMSQ_CHUNK; i < Math.min(n, (c + 1) * SUMSQ_CHUNK); i++) {
        want += g[i] * g[i];
      }
      // ~4096 squares of O(1): f32 relative error ≲ 1e-6.
      assert(Math.abs(parts[c] - want) / want < 1e-5, `partial ${c}: ${parts[c]} vs ${want}`);
    }
  });
});

gpuTest(
  "BackwardKernels.bindGemm() register-tiled variant gives the simple kernel's bits",
  async () => {
    await withContext(async (ctx) => {
      const k = await BackwardKernels.create(ctx);
      // Sizes that are not multiples of either tile, and both stride layouts.
      for (
        const [M, N, K, aS, bS] of [
          [70, 45, 37, [37, 1], [45, 1]],
          [33, 130, 19, [1, 33], [1, 19]],
        ] as [number, number, number, [number, number], [number, number]][]
      ) {
        const a = randomFloats(M * K, 31),
          b = randomFloats(K * N, 32),
          c0 = randomFloats(M * N, 33);
        const out: Float32Array[] = [];
        for (const variant of ["simple", "register_tiled"] as const) {
          const c = upload(ctx, c0, "c");
          await run(ctx, [
            k.bindGemm(
              upload(ctx, a, "a"),
              upload(ctx, b, "b"),
              c,
              { M, N, K, beta: 1 },
              aS,
              bS,
              variant,
            ),
          ]);
          out.push(await read(ctx, c, M * N));
        }
        assert(sameBits(out[0], out[1]), `M=${M} N=${N} K=${K}: variants differ`);
      }
    });
  },
);
