/**
 * GRAIL sketches on a CUDA device (`shaders/cuda/sketch.cu`) against the CPU `sketches()` the
 * miner otherwise runs. Prints one JSON object per result line:
 *   - `sketch_rows`: GPU milliseconds of the kernel alone (CUDA events, median) on R rows of C
 *     bf16-rounded heavy-tailed activations, next to the single-threaded CPU time of the same
 *     rows; the two results are compared and must be equal.
 *   - with `--shape`: the model's proof forward of B × T random tokens with and without
 *     `sketchCoefficients` (median wall ms), and the CPU sketches of its hidden states.
 *
 *   deno run -A bench/cuda_sketch.ts [--rows 16384] [--hidden 896,1024,2048,2560] [--iterations 20]
 *     [--shape qwen2.5-0.5b --batch 16 --len 1024]
 *
 * @module
 */

import { CudaContext } from "../src/cuda/context.ts";
import { CudaModel } from "../src/cuda/cuda_model.ts";
import { CudaSketch, cudaSketchParams } from "../src/cuda/sketch.ts";
import { sketchCoefficients } from "../src/protocol/coefficients.ts";
import { sketches } from "../src/protocol/sketch.ts";
import { flags, median, randomCheckpoint, SHAPES } from "./_random_checkpoint.ts";

const f = flags(Deno.args);
const R = Number(f.get("rows") ?? 16384);
const widths = (f.get("hidden") ?? "896,1024,2048,2560").split(",").map(Number);
const iterations = Number(f.get("iterations") ?? 20);
const coeffs = sketchCoefficients("feedbeefcafebabe1234567890abcdef");

/** Heavy-tailed activations rounded to bf16 (as bench/sketch_cpu.ts), so |x| ties occur. */
function activations(n: number): Float32Array {
  const hidden = new Float32Array(n);
  const bits = new Uint32Array(hidden.buffer);
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = (s >>> 0) / 4294967296;
    hidden[i] = (u - 0.5) * 8 / (1.02 - Math.abs(u - 0.5) * 2);
    bits[i] = (bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) & 0xffff0000;
  }
  return hidden;
}

const ctx = CudaContext.create();
try {
  const kernel = CudaSketch.compile(ctx);
  for (const C of widths) {
    const h = activations(R * C);
    const hb = ctx.alloc(h.byteLength, "bench-hidden");
    const pb = ctx.alloc(4 * (7 + coeffs.length), "bench-params");
    const ob = ctx.alloc(4 * R, "bench-out");
    try {
      ctx.upload(hb, h);
      ctx.upload(pb, cudaSketchParams(coeffs));
      const launch = () => kernel.launch(hb, pb, ob, R, C, coeffs.length);
      launch();
      ctx.sync();
      const gpu: number[] = [];
      for (let i = 0; i < iterations; i++) gpu.push(ctx.time(launch));
      const got = new Uint32Array(R);
      ctx.download(got, ob);
      const t = performance.now();
      const want = sketches(h, C, coeffs);
      const cpuMs = performance.now() - t;
      const equal = got.every((v, i) => v === want[i]);
      if (!equal) throw new Error(`CUDA sketches differ from sketches() at C = ${C}`);
      console.log(JSON.stringify({
        name: "sketch_rows",
        device: ctx.name,
        shape: { R, C, k: coeffs.length },
        metric: "gpu_time_median",
        unit: "ms",
        value: +median(gpu).toFixed(3),
        cpuMs: +cpuMs.toFixed(1),
        equal,
        iterations,
      }));
    } finally {
      ctx.free(hb);
      ctx.free(pb);
      ctx.free(ob);
    }
  }
} finally {
  ctx.destroy();
}

const shapeName = f.get("shape");
if (shapeName !== undefined) {
  const B = Number(f.get("batch") ?? 16);
  const T = Number(f.get("len") ?? 1024);
  const ckpt = randomCheckpoint(SHAPES[shapeName]);
  const model = await CudaModel.load(ckpt, { maxRowsPerPass: B * T, proofCapacityTokens: B * T });
  ckpt.close();
  try {
    let s = 12345;
    const seqs = Array.from({ length: B }, () =>
      Array.from({ length: T }, () => {
        s = (s * 1103515245 + 12345) >>> 0;
        return s % model.vocabSize;
      }));
    await model.proofForward(seqs, { sketchCoefficients: coeffs }); // warm-up
    const plain: number[] = [], sketched: number[] = [], cpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      let t = performance.now();
      const res = await model.proofForward(seqs);
      plain.push(performance.now() - t);
      t = performance.now();
      for (const r of res) sketches(r.hidden, model.hiddenSize, coeffs);
      cpu.push(performance.now() - t);
      t = performance.now();
      await model.proofForward(seqs, { sketchCoefficients: coeffs });
      sketched.push(performance.now() - t);
    }
    const base = {
      name: "cuda_proof_forward_sketches",
      device: model.context.name,
      shape: { model: shapeName, B, T, precision: model.precision },
      unit: "ms",
      iterations: 3,
    };
    for (
      const [metric, xs] of [
        ["proof_forward_median", plain],
        ["proof_forward_with_gpu_sketches_median", sketched],
        ["cpu_sketches_of_hidden_median", cpu],
      ] as const
    ) {
      console.log(JSON.stringify({ ...base, metric, value: +median(xs).toFixed(1) }));
    }
  } finally {
    model.dispose();
  }
}
