/**
 * GPU time of the matmul kernel variants on a model's proof-forward shapes, and whether each
 * variant's output has the same bits as the first variant's (the first 2^20 outputs and the last
 * row compared). Each variant runs 2 warm-up passes, then --iters passes back to back in one
 * submit (the GPU never idles between them, as in a forward), each timed by its own timestamp
 * queries; the median is printed.
 *
 *   deno run -A bench/matmul_kernels.ts --shape qwen2.5-0.5b --rows 16384 --precision f16,f32
 *   deno run -A bench/matmul_kernels.ts --precision f16 --shader old.wgsl,old.wgsl:prefetch
 *
 * Decode (few-rows) products, at most 16 rows:
 *
 *   deno run -A bench/matmul_kernels.ts --rows 16 --lm-rows 16 --precision f32 \
 *     --variants tiled,rows,rows:4x64,rows:16x128 --rows-shader old_matmul.wgsl
 *
 * Variants (--variants): `tiled` and `prefetch`, the two entry points of shaders/matmul.wgsl
 * through MatmulKernel; `rows` (MatmulKernel.bindRows with the default few-rows kernels) and
 * `rows:KERNEL:BNxBK` (bindRows with rows = rowsWide = { kernel: KERNEL, bn: BN, bk: BK }, KERNEL
 * one of output, quad, column); `rowsold`, the entry point matmul_rows of the --rows-shader file
 * (another version of matmul.wgsl, dispatched as ceil(N / --rows-shader-wg) workgroups, default
 * 64: the one-thread-per-column kernel of d0f6bf5); plus every --shader file, a whole matmul.wgsl of another version compiled
 * with the same header and entry point matmul_tiled (a path ending in ":prefetch" gets PREFETCH =
 * true, for the versions that had that flag). --families picks among gate_up, down, lm_head, qkv,
 * o; lm_head runs over --lm-rows rows (the model cuts its logits into passes of at most 1 GiB);
 * --tiles small and --bk N change the tile shape. One JSON object per (family, variant).
 */
import { GpuContext } from "../src/gpu/context.ts";
import {
  MATMUL_TILES_LARGE,
  MATMUL_TILES_SMALL,
  MatmulKernel,
  type MatmulRowsShape,
  type MatmulTiles,
} from "../src/gpu/matmul.ts";
import { allocMatrix, type WeightDType, writeRows } from "../src/gpu/weights.ts";
import { GpuProfiler } from "../src/gpu/profiler.ts";
import type { Dispatch } from "../src/gpu/context.ts";
import { flags, median, SHAPES } from "./_random_checkpoint.ts";

const f = flags(Deno.args);
const shapeName = f.get("shape") ?? "qwen2.5-0.5b";
const cfg = SHAPES[shapeName];
const M = Number(f.get("rows") ?? 16384);
const lmRows = Number(f.get("lm-rows") ?? 1024);
const iters = Number(f.get("iters") ?? 5);
const precisions = (f.get("precision") ?? "f16,f32").split(",") as WeightDType[];
const variants = (f.get("variants") ?? "tiled,prefetch").split(",");
const shaders = (f.get("shader") ?? "").split(",").filter((s) => s !== "");
const families = (f.get("families") ?? "gate_up,down,lm_head,qkv,o").split(",");
const rowsShader = f.get("rows-shader");
const rowsShaderWg = Number(f.get("rows-shader-wg") ?? 64);
const tiles: MatmulTiles = {
  ...(f.get("tiles") === "small" ? MATMUL_TILES_SMALL : MATMUL_TILES_LARGE),
  ...(f.has("bk") ? { bk: Number(f.get("bk")) } : {}),
};

const C = cfg.hiddenSize, FF = cfg.intermediateSize, HS = cfg.headDim;
const SHAPE_OF: Record<string, [number, number, number]> = {
  gate_up: [M, 2 * FF, C],
  down: [M, C, FF],
  lm_head: [lmRows, cfg.vocabSize, C],
  qkv: [M, (cfg.numHeads + 2 * cfg.numKvHeads) * HS, C],
  o: [M, C, cfg.numHeads * HS],
};

const ctx = await GpuContext.create();
const device = ctx.description;
const prof = new GpuProfiler(ctx);
const pool = new Float32Array(1 << 20);
let s = 7;
for (let i = 0; i < pool.length; i++) {
  s = (s * 1103515245 + 12345) >>> 0;
  pool[i] = (s / 4294967296 - 0.5) * 0.07;
}
/** Fills `n` floats from the pool, offset so that rows differ. */
function fill(n: number, write: (at: number, data: Float32Array) => void): void {
  for (let at = 0; at < n; at += pool.length - 1) {
    write(at, pool.subarray(1 + (at % 7), 1 + (at % 7) + Math.min(pool.length - 8, n - at)));
  }
}
// A `--shader` path ending in ":prefetch" is compiled with PREFETCH = true (matmul_tiled of the
// version that had the flag).
const extra = await Promise.all(shaders.map((p) => Deno.readTextFile(p.replace(/:prefetch$/, ""))));
const rowsOld = rowsShader ? await Deno.readTextFile(rowsShader) : "";
const layout = ["uniform", "uniform", "read", "read", "read", "read_write"] as const;

for (const precision of precisions) {
  for (const family of families) {
    const [rows, N, K] = SHAPE_OF[family];
    const x = ctx.storage(rows * K * 4, "x");
    fill(rows * K, (at, d) => ctx.write(x, at * 4, d));
    const w = allocMatrix(ctx, N, K, precision, "w");
    for (let r = 0; r < N; r += 4096) {
      const n = Math.min(4096, N - r);
      const buf = new Float32Array(n * K);
      fill(n * K, (at, d) => buf.set(d, at));
      writeRows(ctx, w, r, buf);
    }
    const y = ctx.storage(rows * N * 4, "y");
    const run = ctx.uniform(new Uint32Array([rows, 0, 0, 0]), "run");
    const header = `${precision === "f16" ? "enable f16;\n" : ""}alias WT = ${precision};
alias CT = ${precision};
const SPLIT: bool = ${precision === "f16"};
const BM_M: u32 = ${tiles.bm}u;
const BM_N: u32 = ${tiles.bn}u;
const BK: u32 = ${tiles.bk}u;
`;
    const dummy = ctx.storage(16, "no-bias");
    const ops: [string, Dispatch[]][] = [];
    /** The dispatches of a kernel from another matmul.wgsl, one per weight chunk. */
    const foreign = (p: GPUComputePipeline, grid: (n: number, r: number) => number[]) =>
      w.chunks.map((chunk) => ({
        pipeline: p,
        bindGroup: ctx.bindGroup(p, [
          run,
          ctx.uniform(
            new Uint32Array([chunk.rows, K, N, chunk.rowStart, chunk.rowStart, 0, 0, 0]),
            "params",
          ),
          x,
          chunk.buffer,
          dummy,
          y,
        ], "m"),
        grid: (r: number) => grid(chunk.rows, r) as [number, number, number],
      }));
    for (const v of variants) {
      if (v === "rowsold") {
        const p = await ctx.pipeline(
          header + "const PREFETCH: bool = false;\n" + rowsOld,
          "matmul_rows",
          {},
          rowsShader!,
          layout,
        );
        ops.push([v, foreign(p, (n) => [Math.ceil(n / rowsShaderWg), 1, 1])]);
        continue;
      }
      const [, kernel, size] = v.split(":");
      const [bn, bk] = (size ?? "").split("x").map(Number);
      const shape = { kernel: kernel as MatmulRowsShape["kernel"], bn, bk };
      const k = await MatmulKernel.create(ctx, precision, {
        ...tiles,
        prefetch: v === "prefetch",
        ...(kernel ? { rows: shape, rowsWide: shape } : {}),
      });
      const args = { run, x, w, y };
      ops.push([v, v.startsWith("rows") ? k.bindRows(args) : k.bind(args)]);
    }
    for (let i = 0; i < extra.length; i++) {
      const prefetch = `const PREFETCH: bool = ${shaders[i].endsWith(":prefetch")};\n`;
      const p = await ctx.pipeline(
        header + prefetch + extra[i],
        "matmul_tiled",
        {},
        shaders[i],
        layout,
      );
      ops.push([
        shaders[i].split("/").pop()!,
        w.chunks.map((chunk) => ({
          pipeline: p,
          bindGroup: ctx.bindGroup(p, [
            run,
            ctx.uniform(
              new Uint32Array([chunk.rows, K, N, chunk.rowStart, chunk.rowStart, 0, 0, 0]),
              "params",
            ),
            x,
            chunk.buffer,
            dummy,
            y,
          ], "m"),
          grid: (r: number): [number, number, number] => [
            Math.ceil(chunk.rows / tiles.bn),
            Math.ceil(r / tiles.bm),
            1,
          ],
        })),
      ]);
    }
    let first: Uint32Array | null = null;
    let firstValues: Float32Array | null = null;
    for (const [name, dispatches] of ops) {
      // Warm-up, then --iters passes back to back in one submit (the GPU never idles between
      // them, as in a forward), each pass timed by its own timestamps.
      for (const timed of [false, true]) {
        const enc = ctx.device.createCommandEncoder();
        for (let it = 0; it < (timed ? iters : 2); it++) {
          const pass = enc.beginComputePass(
            timed ? { timestampWrites: prof.next(`${name}#${it}`) } : {},
          );
          for (const op of dispatches) {
            const [gx, gy, gz] = op.grid(rows);
            pass.setPipeline(op.pipeline);
            pass.setBindGroup(0, op.bindGroup);
            pass.dispatchWorkgroups(gx, gy, gz);
          }
          pass.end();
        }
        ctx.device.queue.submit([enc.finish()]);
      }
      prof.reset();
      await prof.flush();
      const times = [...prof.totals().values()].map((ns) => ns / 1e6);
      ctx.checkAlive();
      const head = new Uint32Array(await ctx.read(y, 0, Math.min(rows * N, 1 << 20) * 4));
      const tail = new Uint32Array(await ctx.read(y, (rows - 1) * N * 4, N * 4));
      const bits = new Uint32Array(head.length + tail.length);
      bits.set(head);
      bits.set(tail, head.length);
      first ??= bits;
      let same = first.length === bits.length;
      for (let i = 0; same && i < bits.length; i++) same = first[i] === bits[i];
      // How far a variant with other bits strays: outputs that differ, largest |difference|.
      const values = new Float32Array(bits.buffer);
      firstValues ??= values;
      let differing = 0, maxAbsDiff = 0;
      for (let i = 0; i < values.length; i++) {
        if (bits[i] === first[i]) continue;
        differing++;
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(values[i] - firstValues[i]));
      }
      const ms = median(times);
      console.log(JSON.stringify({
        name: "matmul_kernel",
        device,
        shape: `${shapeName} ${family} M=${rows} N=${N} K=${K}`,
        precision,
        variant: name,
        tiles: `${tiles.bm}x${tiles.bn}x${tiles.bk}`,
        metric: "gpu_ms",
        value: Math.round(ms * 1000) / 1000,
        unit: "ms",
        tflops: Math.round((2 * rows * N * K) / (ms * 1e8)) / 10,
        sameBitsAsFirst: same,
        ...(same ? {} : { differing, compared: values.length, maxAbsDiff }),
        iterations: iters,
      }));

      ctx.write(y, 0, new Float32Array(Math.min(rows * N, 1 << 20)));
    }
    for (const b of [x, y, run, dummy, ...w.chunks.map((c) => c.buffer)]) ctx.release(b);
  }
}
prof.destroy();
ctx.destroy();
