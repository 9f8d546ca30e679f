import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { RowCandidates } from "../../src/model/sampling.ts";
import { CudaContext } from "../../src/cuda/context.ts";
import { CudaCandidates } from "../../src/cuda/sample.ts";
import { GpuContext } from "../../src/gpu/context.ts";
import { SampleKernel } from "../../src/gpu/sample.ts";
import { cudaTest, NO_CUDA } from "./_cuda.ts";
import { check, pairs, tied } from "../gpu/_candidates.ts";
import { randomFloats } from "../gpu/_gpu.ts";

function withKernel(fn: (k: CudaCandidates) => void): void {
  const ctx = CudaContext.create();
  try {
    fn(CudaCandidates.compile(ctx));
  } finally {
    ctx.destroy();
  }
}

cudaTest(
  "CudaCandidates.candidates() returns the reference top-M and rho on tied random rows, either path",
  () => {
    withKernel((k) => {
      // The usual path (ids above the thread maxima's bound listed in shared memory) for most;
      // the select over the row when more than 2,048 ids reach that bound (M + 1 above the 512
      // threads: [3000, 600]), and the tile scan when they also tie the (M+1)-th key (levels 1,
      // [5000, 700, 4]); Qwen-sized rows.
      const cases = [
        [3000, 66, 40],
        [3000, 8, 5],
        [1000, 1, 3],
        [777, 200, 2000],
        [3000, 10, 1],
        [3000, 300, 40],
        [5000, 700, 4],
        [3000, 600, 100000],
        [151936, 66, 100000],
        [151936, 8, 1],
      ];
      for (const [v, m, levels] of cases) {
        const rows = 3;
        const logits = new Float32Array(rows * v);
        for (let r = 0; r < rows; r++) logits.set(tied(v, 11 * r + v + m, levels), r * v);
        const got = k.candidates(logits, v, m);
        for (let r = 0; r < rows; r++) {
          check(got[r], logits.subarray(r * v, (r + 1) * v), m, v, `V ${v} M ${m} row ${r}`);
        }
      }
    });
  },
);

cudaTest("CudaCandidates.candidates() ranks -0 with +0 and the lower id first", () => {
  withKernel((k) => {
    const row = new Float32Array(600).fill(-1);
    for (let i = 0; i < 600; i += 3) row[i] = i % 2 === 0 ? -0 : 0;
    const [got] = k.candidates(row, 600, 10);
    check(got, row, 10, 600, "signed zeros");
    deepStrictEqual([...got.ids].sort((a, b) => a - b), [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
  });
});

cudaTest("CudaCandidates.candidates() ranks NaN, -Infinity and ids past the limit last", () => {
  withKernel((k) => {
    const v = 300;
    const row = randomFloats(v, 5, 4);
    row[7] = NaN;
    row[8] = -Infinity;
    row[250] = 100; // past the limit: never a candidate
    const limit = 240;
    const [got] = k.candidates(row, v, 20, { limit });
    check(got, row, 20, limit, "mixed");
    // Fewer valid ids than M + 1: rho is -Infinity and excluded ids fill the tail as -Infinity.
    const few = new Float32Array(v).fill(NaN);
    few.set([3, 1, 2], 0);
    const [g2] = k.candidates(few, v, 5);
    check(g2, few, 5, v, "mostly NaN");
    strictEqual(g2.rho, -Infinity);
  });
});

cudaTest("CudaCandidates.candidates() handles rows narrower than a block", () => {
  withKernel((k) => {
    const row = tied(100, 3, 7);
    const [got] = k.candidates(row, 100, 99);
    check(got, row, 99, 100, "V 100 M 99");
  });
});

cudaTest("CudaCandidates.candidates() gathers the logits of each row's listed ids", () => {
  withKernel((k) => {
    const v = 500;
    const logits = randomFloats(2 * v, 8);
    const seen = [[4, 499, 0, 17], [3]];
    const got = k.candidates(logits, v, 4, { seen });
    deepStrictEqual([...got[0].seenLogits], seen[0].map((id) => logits[id]));
    deepStrictEqual([...got[1].seenLogits], [logits[v + 3]]);
    deepStrictEqual(got[0].seenIds, seen[0]);
  });
});

const adapter = NO_CUDA === null ? await navigator.gpu?.requestAdapter() ?? null : null;

Deno.test({
  name:
    "CudaCandidates.candidates() gives the WebGPU kernel's outputs word for word (slot order, rho, NaN)",
  // Needs both backends: the device machine (CUDA + Vulkan).
  ignore: NO_CUDA !== null || adapter === null,
  async fn() {
    const gpu = await GpuContext.create();
    try {
      const wgsl = await SampleKernel.create(gpu);
      const cases: [number, number, number, number][] = [
        [151936, 66, 100000, 151900],
        [3000, 8, 5, 3000],
        [3000, 10, 1, 2000],
        [5000, 300, 40, 5000],
      ];
      for (const [v, m, levels, limit] of cases) {
        const rows = 2;
        const logits = new Float32Array(rows * v);
        for (let r = 0; r < rows; r++) logits.set(tied(v, 7 * r + m, levels), r * v);
        logits[3] = NaN;
        logits[v + 5] = -0;
        const seen = [[1, 2, 3], [v - 1]];
        const want = await wgsl.candidates(logits, v, m, { limit, seen });
        let got: RowCandidates[] = [];
        withKernel((k) => {
          got = k.candidates(logits, v, m, { limit, seen });
        });
        for (let r = 0; r < rows; r++) {
          const what = `V ${v} M ${m} row ${r}`;
          deepStrictEqual([...got[r].ids], [...want[r].ids], `${what}: ids in slot order`);
          deepStrictEqual(pairs(got[r]), pairs(want[r]), `${what}: logit bits`);
          strictEqual(Object.is(got[r].rho, want[r].rho), true, `${what}: rho`);
          strictEqual(got[r].hasNaN, want[r].hasNaN, `${what}: NaN`);
          const bits = (f: Float32Array) => [...new Uint32Array(f.buffer, f.byteOffset, f.length)];
          deepStrictEqual(bits(got[r].seenLogits), bits(want[r].seenLogits), `${what}: gathered`);
        }
      }
    } finally {
      gpu.destroy();
    }
  },
});
