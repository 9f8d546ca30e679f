/**
 * How far generated positions stray from the proof forward with a given few-rows (decode) matmul
 * kernel: B rows share one random sequence; after a prefill of P tokens, S teacher-forced decode
 * steps; each step's last hidden state and the log-prob of the next token are compared with
 * proofForward() of the full sequence. With the default kernels both are bit-equal; an opt-in
 * kernel that is not (f16 "output"/"quad", see MatmulRowsShape) shows by how much.
 *
 *   deno run -A bench/decode_drift.ts --shape qwen2.5-0.5b --precision f16 --rows quad:16x64
 *   deno run -A bench/decode_drift.ts --shape qwen2.5-0.5b --layers 1 --steps 3  # llvmpipe
 *
 * Flags: --shape NAME [--layers L]; --batch B (default 4), --prompt P (16), --steps S (16);
 * --precision f32|f16; --rows KERNEL:BNxBK (rows = rowsWide; default: the dtype's defaults).
 * One JSON line: bit-equal positions of all compared, the max abs hidden difference and value,
 * the max abs log-prob difference (the host's log-softmax of the step logits against the GPU's:
 * about 1e-6 even where the hidden states are bit-equal).
 */
import { WebGpuModel } from "../src/gpu/webgpu_model.ts";
import { MATMUL_TILES_LARGE, type MatmulRowsShape, type MatmulTiles } from "../src/gpu/matmul.ts";
import type { WeightDType } from "../src/gpu/weights.ts";
import { flags, randomCheckpoint, SHAPES } from "./_random_checkpoint.ts";

const f = flags(Deno.args);
const shapeName = f.get("shape") ?? "qwen2.5-0.5b";
const base = SHAPES[shapeName];
if (!base) throw new RangeError(`Unknown --shape ${shapeName}: expected ${Object.keys(SHAPES)}`);
const config = { ...base, numLayers: Number(f.get("layers") ?? base.numLayers) };
const B = Number(f.get("batch") ?? 4), P = Number(f.get("prompt") ?? 16);
const S = Number(f.get("steps") ?? 16);
const precision = (f.get("precision") ?? "f32") as WeightDType;
let tiles: MatmulTiles | undefined;
if (f.has("rows")) {
  const [kernel, size] = f.get("rows")!.split(":");
  const [bn, bk] = size.split("x").map(Number);
  const rows: MatmulRowsShape = { kernel: kernel as MatmulRowsShape["kernel"], bn, bk };
  tiles = { ...MATMUL_TILES_LARGE, rows, rowsWide: rows };
}

const model = await WebGpuModel.load(randomCheckpoint(config), { precision, tiles });
const C = model.hiddenSize, V = model.vocabSize;
let s = 12345;
const seq = Array.from({ length: P + S + 1 }, () => {
  s = (s * 1103515245 + 12345) >>> 0;
  return s % V;
});
const [full] = await model.proofForward([seq]);
const session = model.startGeneration(B, seq.length);
await session.prefill(Array.from({ length: B }, () => seq.slice(0, P)));
let equal = 0, compared = 0, maxDiff = 0, maxAbs = 0, maxLpDiff = 0;
for (let t = P; t < P + S; t++) {
  const logits = await session.step(Array.from({ length: B }, () => seq[t]));
  const h = await session.lastHidden!();
  const ref = full.hidden.subarray(t * C, (t + 1) * C);
  for (let b = 0; b < B; b++) {
    const row = h.subarray(b * C, (b + 1) * C);
    let same = true;
    for (let i = 0; i < C; i++) {
      same &&= Object.is(row[i], ref[i]);
      maxDiff = Math.max(maxDiff, Math.abs(row[i] - ref[i]));
      maxAbs = Math.max(maxAbs, Math.abs(ref[i]));
    }
    equal += same ? 1 : 0;
    compared++;
    const l = logits.subarray(b * V, (b + 1) * V);
    let m = -Infinity;
    for (const v of l) m = Math.max(m, v);
    let z = 0;
    for (const v of l) z += Math.exp(v - m);
    const lp = l[seq[t + 1]] - m - Math.log(z);
    maxLpDiff = Math.max(maxLpDiff, Math.abs(lp - full.nextTokenLogprobs[t]));
  }
}
console.log(JSON.stringify({
  name: "decode_drift",
  device: model.context.description,
  shape: `${shapeName} L=${config.numLayers} B=${B} prompt=${P} steps=${S}`,
  precision,
  rows: f.get("rows") ?? "default",
  metric: "bit_equal_positions",
  value: equal,
  unit: "positions",
  compared,
  maxAbsHiddenDiff: maxDiff,
  maxAbsHidden: maxAbs,
  maxAbsLogprobDiff: maxLpDiff,
  iterations: S,
}));
model.dispose();
