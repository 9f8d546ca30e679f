/**
 * Sketch throughput on the CPU: GRAIL v5 sketches of every row of an [8192 × 4096] f32 block
 * (single-threaded `sketches()` from mod.ts). Prints one JSON object per result line.
 *
 * Run: `deno run -A bench/sketch_cpu.ts [--rows 8192] [--hidden 4096] [--iterations 5]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { sketchCoefficients, sketches } from "../mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rows: { type: "string", default: "8192" },
    hidden: { type: "string", default: "4096" },
    iterations: { type: "string", default: "5" },
  },
});
const T = Number(values.rows);
const C = Number(values.hidden);
const iterations = Number(values.iterations);

// Deterministic heavy-tailed activations (xorshift32), rounded to bf16 as a miner's are, so the
// data has the exact |x| ties real bf16 hidden states have.
const hidden = new Float32Array(T * C);
const bits = new Uint32Array(hidden.buffer);
let s = 0x9e3779b9;
for (let i = 0; i < hidden.length; i++) {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  const u = (s >>> 0) / 4294967296;
  hidden[i] = (u - 0.5) * 8 / (1.02 - Math.abs(u - 0.5) * 2);
  bits[i] = (bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) & 0xffff0000;
}
const coeffs = sketchCoefficients("feedbeefcafebabe1234567890abcdef");

sketches(hidden, C, coeffs); // warm-up: JIT and caches
const times: number[] = [];
for (let i = 0; i < iterations; i++) {
  const start = performance.now();
  sketches(hidden, C, coeffs);
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
const medianMs = times[Math.floor(times.length / 2)];

let device = "cpu";
try {
  const text = Deno.readTextFileSync("/proc/cpuinfo");
  const model = text.match(/^model name\s*:\s*(.+)$/m)?.[1];
  if (model) device = `cpu: ${model.trim()} (1 thread)`;
} catch {
  device = "cpu (model unknown: /proc/cpuinfo unreadable)";
}
const base = { name: "sketch_cpu", device, shape: [T, C], iterations };
console.log(
  JSON.stringify({ ...base, metric: "median_time", unit: "ms", value: +medianMs.toFixed(2) }),
);
console.log(
  JSON.stringify({
    ...base,
    metric: "rows_per_second",
    unit: "rows/s",
    value: Math.round(T / (medianMs / 1000)),
  }),
);
console.log(
  JSON.stringify({
    ...base,
    metric: "input_bandwidth",
    unit: "GB/s",
    value: +((T * C * 4) / (medianMs / 1000) / 1e9).toFixed(3),
  }),
);
