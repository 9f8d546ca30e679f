/**
 * GPU time of the attention kernel variants for one layer of a model's proof forward (B sequences
 * of T tokens, causal), and whether each variant's output has the same bits as the first
 * variant's (all outputs compared). Each variant runs 2 warm-up passes, then --iters passes back
 * to back in one submit, each timed by its own timestamp queries; the median is printed.
 *
 *   deno run -A bench/attention_kernels.ts --shape qwen2.5-0.5b --batch 16 --len 1024
 *   deno run -A bench/attention_kernels.ts --variants kl16,kl64,kl64sg --shader old.wgsl
 *
 * Variants: `kl<N>` (N keys per shared-memory load, shared-memory softmax) and `kl<N>sg` (the
 * same with subgroup shuffles, where the device allows them), either with `qb<N>` (N query rows
 * per workgroup), plus every `--shader` file (a whole
 * attention.wgsl of another version, entry point attention_rows, same header).
 * Prints one JSON object per variant.
 */
import { GpuContext } from "../src/gpu/context.ts";
import {
  ATTENTION_KT,
  ATTENTION_THREADS_PER_ROW,
  attentionBlocks,
  AttentionKernel,
} from "../src/gpu/attention.ts";
import { GpuProfiler } from "../src/gpu/profiler.ts";
import type { Dispatch } from "../src/gpu/context.ts";
import { flags, median, SHAPES } from "./_random_checkpoint.ts";

const f = flags(Deno.args);
const shapeName = f.get("shape") ?? "qwen2.5-0.5b";
const cfg = SHAPES[shapeName];
const B = Number(f.get("batch") ?? 16);
const T = Number(f.get("len") ?? 1024);
const iters = Number(f.get("iters") ?? 5);
const variants = (f.get("variants") ?? "kl16,kl32,kl64,kl16sg,kl32sg,kl64sg").split(",");
const shaders = (f.get("shader") ?? "").split(",").filter((s) => s !== "");
const NH = cfg.numHeads, NKV = cfg.numKvHeads, HS = cfg.headDim;

const ctx = await GpuContext.create();
const device = ctx.description;
const prof = new GpuProfiler(ctx);
function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 4;
  }
  return out;
}
function upload(data: ArrayBufferView, label: string): GPUBuffer {
  const b = ctx.storage(data.byteLength, label);
  ctx.write(b, 0, data);
  return b;
}
const rows = B * T;
const q = upload(random(rows * NH * HS, 1), "q");
const k = upload(random(rows * NKV * HS, 2), "k");
const v = upload(random(rows * NKV * HS, 3), "v");
const o = ctx.storage(rows * NH * HS * 4, "o");
const run = ctx.uniform(new Uint32Array([rows, 0, 0, 0]), "run");
const flops = 4 * B * NH * HS * (T * (T + 1)) / 2; // q·k and p·v over the causal half

const ops: [string, Dispatch, number][] = [];
for (const name of variants) {
  const m = /^kl(\d+)(sg)?(?:qb(\d+))?$/.exec(name);
  if (!m) throw new RangeError(`Unknown variant ${name}: expected kl<N>[sg][qb<N>]`);
  const subgroups = m[2] === "sg";
  const rowsPerBlock = m[3] === undefined ? undefined : Number(m[3]);
  const wg = (rowsPerBlock ?? 32) * ATTENTION_THREADS_PER_ROW;
  if (subgroups && !(await ctx.subgroupLanesLinear(wg, ATTENTION_THREADS_PER_ROW))) continue;
  const options = { keysPerLoad: Number(m[1]), subgroups, rowsPerBlock };
  const kernel = await AttentionKernel.create(ctx, HS, options)
    .catch((e: Error) => {
      console.log(
        JSON.stringify({ name: "attention_kernel", device, variant: name, skipped: e.message }),
      );
      return null;
    });
  if (kernel === null) continue;
  const blocks = attentionBlocks(
    Array.from(
      { length: B },
      (_, b) => ({ firstRow: b * T, count: T, kvBase: b * T, firstPos: 0 }),
    ),
    kernel.qb,
  );
  const op = kernel.bind({ nh: NH, nkv: NKV, hs: HS }, run, upload(blocks, "blocks"), q, k, v, o);
  ops.push([name, op, blocks.length / 4]);
}
for (const path of shaders) {
  const qb = 32;
  const header = `const HS: u32 = ${HS}u;
const QB: u32 = ${qb}u;
const KT: u32 = ${ATTENTION_KT}u;
const KL: u32 = ${ATTENTION_KT}u;
const WG: u32 = ${qb * ATTENTION_THREADS_PER_ROW}u;
`;
  const text = await Deno.readTextFile(path);
  const layout = ["uniform", "uniform", "read", "read", "read", "read", "read_write"] as const;
  const p = await ctx.pipeline(header + text, "attention_rows", {}, path, layout);
  const words = new Uint32Array(4);
  words.set([NH, NKV]);
  new Float32Array(words.buffer)[2] = 1 / Math.sqrt(HS);
  const blocks = attentionBlocks(
    Array.from(
      { length: B },
      (_, b) => ({ firstRow: b * T, count: T, kvBase: b * T, firstPos: 0 }),
    ),
    qb,
  );
  const bg = ctx.bindGroup(
    p,
    [run, ctx.uniform(words, "params"), upload(blocks, "blocks"), q, k, v, o],
    "a",
  );
  ops.push([path.split("/").pop()!, {
    pipeline: p,
    bindGroup: bg,
    grid: (n) => [n, NH, 1],
  }, blocks.length / 4]);
}

let first: Uint32Array | null = null;
for (const [name, op, nBlocks] of ops) {
  // Warm-up, then --iters passes back to back in one submit, each timed by its own timestamps.
  for (const timed of [false, true]) {
    const enc = ctx.device.createCommandEncoder();
    for (let it = 0; it < (timed ? iters : 2); it++) {
      const pass = enc.beginComputePass(
        timed ? { timestampWrites: prof.next(`${name}#${it}`) } : {},
      );
      const [gx, gy, gz] = op.grid(nBlocks);
      pass.setPipeline(op.pipeline);
      pass.setBindGroup(0, op.bindGroup);
      pass.dispatchWorkgroups(gx, gy, gz);
      pass.end();
    }
    ctx.device.queue.submit([enc.finish()]);
  }
  prof.reset();
  await prof.flush();
  const times = [...prof.totals().values()].map((ns) => ns / 1e6);
  ctx.checkAlive();
  const bits = new Uint32Array(await ctx.read(o, 0, rows * NH * HS * 4));
  first ??= bits;
  let same = true;
  for (let i = 0; same && i < bits.length; i++) same = first[i] === bits[i];
  const ms = median(times);
  console.log(JSON.stringify({
    name: "attention_kernel",
    device,
    shape: `${shapeName} B=${B} T=${T} NH=${NH} NKV=${NKV} HS=${HS}`,
    variant: name,
    metric: "gpu_ms",
    value: Math.round(ms * 1000) / 1000,
    unit: "ms",
    tflops: Math.round(flops / (ms * 1e8)) / 10,
    sameBitsAsFirst: same,
    iterations: iters,
  }));
  ctx.write(o, 0, new Float32Array(rows * NH * HS));
}
prof.destroy();
ctx.destroy();
