/**
 * Honest sketch and log-prob drift behind the strict tolerance (docs/verification.md): our f32
 * hidden states (CPU reference and, when an adapter exists, WebGPU) against the reference's
 * bf16-CUDA sketches of the fixture sequences; the reference's own f32 against bf16-CUDA; f16 and
 * bf16 rounding of the final hidden state; and what an all-zero or random commitment scores.
 * Prints one JSON object per line.
 *
 * With `--dump FILE` it also writes every backend's sketches, last hidden states and log-probs
 * (JSON) so that two machines' runs can be compared bit for bit (`bench/drift_compare.ts`); on an
 * adapter with `shader-f16` it adds the f16 WebGPU forward (compared with bf16-CUDA and with our
 * f32 WebGPU sketches).
 *
 * Run: deno run -A bench/sketch_drift.ts [--no-webgpu] [--dump FILE]
 */

import { loadModel } from "../src/model/load.ts";
import type { Model } from "../src/model/model.ts";
import { sketchCoefficients } from "../src/protocol/coefficients.ts";
import { PRIME_Q } from "../src/protocol/constants.ts";
import { sketches } from "../src/protocol/sketch.ts";
import { sketchTolerance } from "../src/protocol/verify.ts";
import { STRICT_POLICY } from "../src/roles/strict_policy.ts";
import { FIXTURE_MODELS, readGolden } from "../tests/model/_golden.ts";

function emit(
  device: string,
  shape: string,
  metric: string,
  value: number,
  unit: string,
  iterations: number,
) {
  console.log(
    JSON.stringify({ name: "sketch_drift", device, shape, metric, value, unit, iterations }),
  );
}

function dist(a: number, b: number): number {
  const d = Math.abs(a - b);
  return Math.min(d, PRIME_Q - d);
}

function roundF16(x: number): number {
  // Round-to-nearest-even to binary16 via its spacing at x's exponent (normal range only here).
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
  const ulp = 2 ** (e - 10);
  const q = x / ulp;
  const r = Math.round(q);
  return (Math.abs(q - Math.trunc(q)) === 0.5 && r % 2 !== 0 ? r - Math.sign(q) : r) * ulp;
}

function roundBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = (u[0] + 0x7fff + ((u[0] >>> 16) & 1)) & 0xffff0000;
  return f[0];
}

interface Stats {
  positions: number;
  completion: number;
  exactCompletion: number;
  maxDist: number;
  minExactFraction: number;
  maxLogprobDiff: number;
}

function compare(
  ours: number[][],
  theirs: number[][],
  promptLens: number[],
  lpOurs?: Float32Array[],
  lpTheirs?: Float32Array[],
): Stats {
  const s: Stats = {
    positions: 0,
    completion: 0,
    exactCompletion: 0,
    maxDist: 0,
    minExactFraction: 1,
    maxLogprobDiff: 0,
  };
  ours.forEach((o, i) => {
    let exact = 0;
    for (let p = 0; p < o.length; p++) {
      const d = dist(o[p], theirs[i][p]);
      s.positions++;
      s.maxDist = Math.max(s.maxDist, d);
      if (p >= promptLens[i]) {
        s.completion++;
        if (d === 0) exact++;
      }
    }
    s.exactCompletion += exact;
    s.minExactFraction = Math.min(s.minExactFraction, exact / (o.length - promptLens[i]));
    if (lpOurs && lpTheirs) {
      for (let t = promptLens[i] - 1; t < lpOurs[i].length; t++) {
        s.maxLogprobDiff = Math.max(s.maxLogprobDiff, Math.abs(lpOurs[i][t] - lpTheirs[i][t]));
      }
    }
  });
  return s;
}

function report(device: string, shape: string, s: Stats) {
  emit(device, shape, "max_sketch_distance", s.maxDist, "sketch units", s.positions);
  emit(
    device,
    shape,
    "exact_fraction_completion",
    s.exactCompletion / s.completion,
    "fraction",
    s.completion,
  );
  emit(device, shape, "min_exact_fraction_per_sequence", s.minExactFraction, "fraction", 3);
  if (s.maxLogprobDiff > 0) {
    emit(device, shape, "max_abs_logprob_diff", s.maxLogprobDiff, "nats", s.completion);
  }
}

async function gpuAvailable(): Promise<boolean> {
  if (Deno.args.includes("--no-webgpu")) return false;
  try {
    return (await navigator.gpu?.requestAdapter()) != null;
  } catch {
    return false;
  }
}

type Run = { backend: "cpu" | "webgpu"; precision: "f32" | "f16" };
const runs: Run[] = [{ backend: "cpu", precision: "f32" }];
let adapterName = "";
if (await gpuAvailable()) {
  const adapter = await navigator.gpu.requestAdapter();
  adapterName = adapter?.info.description || adapter?.info.device || "unknown adapter";
  runs.push({ backend: "webgpu", precision: "f32" });
  if (adapter?.features.has("shader-f16")) runs.push({ backend: "webgpu", precision: "f16" });
}
const dumpAt = Deno.args.indexOf("--dump");
const dumpPath = dumpAt >= 0 ? Deno.args[dumpAt + 1] : undefined;
const dump: Record<string, Record<string, unknown>> = {};
let honestSums = 0;
let zeroSums = 0;
let compatZeroPass = 0;
let strictZeroPassSequences = 0;
let sequences = 0;
for (const name of FIXTURE_MODELS) {
  const g = await readGolden(name);
  const coeffs = sketchCoefficients(g.randomness);
  const promptLens = g.seqs.map((s) => s.promptLen);
  const bf16 = g.seqs.map((s) => s.sketchBf16Cuda);
  const C = g.seqs[0].hiddenF32.length / g.seqs[0].inputIds.length;
  report("reference f32 (HF CPU)", name, compare(g.seqs.map((s) => s.sketchF32), bf16, promptLens));
  let gpuF32: number[][] | undefined;
  for (const { backend, precision } of runs) {
    let model: Model;
    try {
      model = await loadModel(g.dir, { backend, webgpu: { precision } });
    } catch (e) {
      console.error(`skip ${backend} ${precision}: ${(e as Error).message}`);
      continue;
    }
    const fwd = await model.proofForward(g.seqs.map((s) => s.inputIds));
    const ours = fwd.map((f) => Array.from(sketches(f.hidden, C, coeffs)));
    const label = backend === "cpu" ? "ours f32 CPU" : `ours ${precision} WebGPU (${adapterName})`;
    if (dumpPath) {
      (dump[name] ??= {})[label] = {
        sketches: ours,
        hidden: fwd.map((f) => Array.from(f.hidden)),
        logprobs: fwd.map((f) => Array.from(f.nextTokenLogprobs)),
      };
    }
    if (backend === "webgpu" && precision === "f32") gpuF32 = ours;
    if (backend === "webgpu" && precision === "f16" && gpuF32) {
      report(`${label} vs ours f32 WebGPU`, name, compare(ours, gpuF32, promptLens));
    }
    report(
      label,
      name,
      compare(
        ours,
        bf16,
        promptLens,
        fwd.map((f) => f.nextTokenLogprobs),
        g.seqs.map((s) => s.nextTokenLogprobBf16Cuda),
      ),
    );
    if (backend === "cpu") {
      const f16 = fwd.map((f) => Array.from(sketches(f.hidden.map(roundF16), C, coeffs)));
      const b16 = fwd.map((f) => Array.from(sketches(f.hidden.map(roundBf16), C, coeffs)));
      report("ours f32 CPU, hidden rounded to f16", name, compare(f16, ours, promptLens));
      report("ours f32 CPU, hidden rounded to bf16", name, compare(b16, ours, promptLens));
      // What an all-zero commitment scores against our honest sketches.
      ours.forEach((o, i) => {
        sequences++;
        let exact = 0;
        for (let p = 0; p < o.length; p++) {
          honestSums++;
          if (o[p] === 0) zeroSums++;
          if (dist(o[p], 0) <= sketchTolerance(p)) compatZeroPass++;
          if (p >= promptLens[i] && o[p] === 0) exact++;
        }
        if (exact >= STRICT_POLICY.sketchMinExactFraction * (o.length - promptLens[i])) {
          strictZeroPassSequences++;
        }
      });
    }
    model.dispose();
  }
}
emit(
  "ours f32 CPU",
  "fixtures",
  "zero_sketch_fraction",
  zeroSums / honestSums,
  "fraction",
  honestSums,
);
emit(
  "ours f32 CPU",
  "fixtures",
  "all_zero_pass_rate_per_position_v5",
  compatZeroPass / honestSums,
  "fraction",
  honestSums,
);
emit(
  "ours f32 CPU",
  "fixtures",
  "all_zero_pass_rate_per_sequence_strict",
  strictZeroPassSequences / sequences,
  "fraction",
  sequences,
);
if (dumpPath) Deno.writeTextFileSync(dumpPath, JSON.stringify(dump));
