/**
 * Compares two `bench/sketch_drift.ts --dump` files from different machines (e.g. the llvmpipe
 * CPU adapter and an H100 through Vulkan): for each fixture model and each pair of WebGPU runs of
 * the same precision, how many sketches are equal, the largest sketch distance (mod q), and the
 * largest |Δ| of the last hidden state and of the next-token log-probs. Prints one JSON object
 * per line.
 *
 * Run: deno run -A bench/drift_compare.ts A.json B.json
 */

import { PRIME_Q } from "../src/protocol/constants.ts";

type Entry = { sketches: number[][]; hidden: number[][]; logprobs: number[][] };
type Dump = Record<string, Record<string, Entry>>;

const [pathA, pathB] = Deno.args;
if (!pathA || !pathB) {
  throw new TypeError("Usage: deno run -A bench/drift_compare.ts A.json B.json (two dump files)");
}
const a: Dump = JSON.parse(Deno.readTextFileSync(pathA));
const b: Dump = JSON.parse(Deno.readTextFileSync(pathB));

function precisionOf(label: string): string | undefined {
  return /^ours (f32|f16) WebGPU/.exec(label)?.[1];
}

function maxAbs(x: number[][], y: number[][]): number {
  let m = 0;
  x.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - y[i][j])))));
  return m;
}

for (const model of Object.keys(a)) {
  for (const [la, ea] of Object.entries(a[model])) {
    const pa = precisionOf(la);
    if (!pa || !b[model]) continue;
    for (const [lb, eb] of Object.entries(b[model])) {
      if (precisionOf(lb) !== pa || lb === la) continue;
      let equal = 0, total = 0, maxDist = 0;
      ea.sketches.forEach((row, i) =>
        row.forEach((v, j) => {
          const d = Math.abs(v - eb.sketches[i][j]);
          const dist = Math.min(d, PRIME_Q - d);
          total++;
          if (dist === 0) equal++;
          maxDist = Math.max(maxDist, dist);
        })
      );
      const pair = `${la} vs ${lb}`;
      const out = (metric: string, value: number, unit: string) =>
        console.log(JSON.stringify({
          name: "drift_compare",
          device: pair,
          shape: model,
          metric,
          value,
          unit,
          iterations: total,
        }));
      out("equal_sketch_fraction", equal / total, "fraction");
      out("max_sketch_distance", maxDist, "sketch units");
      out("max_abs_hidden_diff", maxAbs(ea.hidden, eb.hidden), "abs");
      out("max_abs_logprob_diff", maxAbs(ea.logprobs, eb.logprobs), "nats");
    }
  }
}
