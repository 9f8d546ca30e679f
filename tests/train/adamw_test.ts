import { ok as assert, strictEqual, throws } from "node:assert/strict";
import { AdamW, clipGradNorm } from "../../src/train/adamw.ts";
import type { Params } from "../../src/train/params.ts";

const one = (values: number[]): Params =>
  new Map([["w", { shape: [values.length], data: Float64Array.from(values) }]]);

Deno.test("AdamW.step() first step is decay then lr·g/(|g|+ε) (Adam's closed form)", () => {
  // After bias correction m̂ = g, v̂ = g², so the step is lr·g/(|g| + ε): the independent closed form.
  const p = one([2, -1]);
  new AdamW({ lr: 0.01, weightDecay: 0.1 }).step(p, one([0.5, -4]));
  const [a, b] = p.get("w")!.data;
  // Tolerance 1e-12: the closed form and the update differ only by rounding.
  assert(Math.abs(a - (2 * (1 - 0.001) - 0.01 * 0.5 / (0.5 + 1e-8))) < 1e-12, `${a}`);
  assert(Math.abs(b - (-1 * (1 - 0.001) + 0.01 * 4 / (4 + 1e-8))) < 1e-12, `${b}`);
});

Deno.test("AdamW.step() second step uses β2 = 0.95 bias-corrected moments", () => {
  const p = one([0]);
  const opt = new AdamW({ lr: 1, weightDecay: 0 });
  opt.step(p, one([1]));
  opt.step(p, one([3]));
  // m = 0.09 + 0.3 = 0.39 → m̂ = 0.39/0.19; v = 0.0475 + 0.45 = 0.4975 → v̂ = 0.4975/0.0975.
  const expected = -1 / (1 + 1e-8) - (0.39 / 0.19) / (Math.sqrt(0.4975 / 0.0975) + 1e-8);
  assert(Math.abs(p.get("w")!.data[0] - expected) < 1e-12, `${p.get("w")!.data[0]} vs ${expected}`);
});

Deno.test("AdamW.step() rejects a gradient of the wrong size", () => {
  throws(
    () => new AdamW({ lr: 1 }).step(one([1, 2]), one([1])),
    /gradient of w: 1 values, expected 2/,
  );
});

Deno.test("clipGradNorm() leaves gradients below the bound unchanged", () => {
  const g = one([0.3, 0.4]);
  strictEqual(clipGradNorm(g, 1), 0.5);
  strictEqual(g.get("w")!.data[1], 0.4);
});

Deno.test("clipGradNorm() rejects a non-finite norm", () => {
  throws(() => clipGradNorm(one([NaN]), 1), /non-finite global norm/);
});
