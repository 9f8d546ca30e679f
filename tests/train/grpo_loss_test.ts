import { deepStrictEqual, ok as assert, strictEqual, throws } from "node:assert/strict";
import { clipAdvantages, grpoLoss, type GrpoSequence } from "../../src/train/grpo_loss.ts";

// Hand-computed values are exact up to float64 rounding of a few operations: 1e-12.
const TOL = 1e-12;
const near = (a: number, b: number, what: string) =>
  assert(Math.abs(a - b) <= TOL * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

Deno.test("grpoLoss() normalises by the total completion tokens (DAPO)", () => {
  // Ratios 1: ℓ = −A per token; L_pg = (2·(−1) + 1·(−(−2)))/3.
  const r = grpoLoss([
    { lpCur: [-1, -1], lpOld: [-1, -1], lpRef: null, entropy: [0, 0], advantage: 1 },
    { lpCur: [-2], lpOld: [-2], lpRef: null, entropy: [0], advantage: -2 },
  ], { klCoef: 0 });
  near(r.policyLoss, 0 / 3, "policy loss");
  near(r.dLpCur[0][0], -1 / 3, "dLp seq 0");
  near(r.dLpCur[1][0], 2 / 3, "dLp seq 1");
});

Deno.test("grpoLoss() clips the sequence ratio to [0.8, 1.28]", () => {
  // log-ratio 0.5 → ρ = e^0.5 ≈ 1.65 > 1.28; A > 0: min picks 1.28·A, flat in lp.
  const r = grpoLoss([{ lpCur: [0.5], lpOld: [0], lpRef: null, entropy: [0], advantage: 2 }], {
    klCoef: 0,
  });
  near(r.policyLoss, -1.28 * 2, "policy loss");
  strictEqual(r.dLpCur[0][0] === 0, true); // ±0: flat
  near(r.clipFraction, 1, "clip fraction");
});

Deno.test("grpoLoss() applies the ratio ceiling of 10 after the ±5 log-ratio clamp", () => {
  // log-ratio 4 → e⁴ ≈ 54.6 → ceiling 10; A < 0: min picks 10·A (unclipped, but ceilinged: no grad).
  const r = grpoLoss([{ lpCur: [4], lpOld: [0], lpRef: null, entropy: [0], advantage: -1 }], {
    klCoef: 0,
  });
  near(r.policyLoss, 10, "policy loss");
  strictEqual(r.dLpCur[0][0] === 0, true); // ±0: flat
});

Deno.test("grpoLoss() adds β·½(lp − lp_ref)² and −γ·H token means", () => {
  const r = grpoLoss([
    { lpCur: [-1, -2], lpOld: [-1, -2], lpRef: [-1.5, -2], entropy: [2, 4], advantage: 0 },
  ], { klCoef: 0.1, entropyCoef: 0.01, entropyMean: "token" });
  near(r.meanKl, 0.5 * 0.25 / 2, "mean KL");
  near(r.klLoss, 0.1 * 0.0625, "KL loss");
  near(r.entropyLoss, -0.01 * 3, "entropy loss");
  near(r.dLpCur[0][0], 0.1 * 0.5 / 2, "dLp via KL");
  near(r.dEntropy[0][1], -0.01 / 2, "dH");
});

Deno.test("grpoLoss() gradient matches finite differences inside the clip range", () => {
  const base: GrpoSequence[] = [
    {
      lpCur: [-1.1, -0.4, -2],
      lpOld: [-1, -0.5, -2.1],
      lpRef: [-1, -1, -1],
      entropy: [1, 2, 3],
      advantage: 0.7,
    },
    { lpCur: [-0.3], lpOld: [-0.2], lpRef: [-0.5], entropy: [1], advantage: -1.2 },
  ];
  const f = (s: GrpoSequence[]) => grpoLoss(s, { klCoef: 0.3 }).loss;
  const g = grpoLoss(base, { klCoef: 0.3 });
  const h = 1e-6;
  base.forEach((seq, i) => {
    for (let t = 0; t < seq.lpCur.length; t++) {
      const shifted = (d: number) =>
        base.map((s, j) =>
          j !== i ? s : { ...s, lpCur: Array.from(s.lpCur, (x, k) => k === t ? x + d : x) }
        );
      const fd = (f(shifted(h)) - f(shifted(-h))) / (2 * h);
      // Central difference of a smooth function, h = 1e-6: error ≲ 1e-9.
      assert(
        Math.abs(fd - g.dLpCur[i][t]) < 1e-8,
        `seq ${i} token ${t}: ${fd} vs ${g.dLpCur[i][t]}`,
      );
    }
  });
});

Deno.test("grpoLoss() averages entropy per sequence, then over the batch, by default", () => {
  // Sequence means 3 and 1 → 2 (a token mean would give (2 + 4 + 1) / 3).
  const r = grpoLoss([
    { lpCur: [-1, -2], lpOld: [-1, -2], lpRef: null, entropy: [2, 4], advantage: 0 },
    { lpCur: [-1], lpOld: [-1], lpRef: null, entropy: [1], advantage: 0 },
  ], { klCoef: 0, entropyCoef: 0.01 });
  near(r.meanEntropy, 2, "mean entropy");
  near(r.dEntropy[0][0], -0.01 / 4, "dH of a 2-token sequence");
  near(r.dEntropy[1][0], -0.01 / 2, "dH of a 1-token sequence");
});

Deno.test("grpoLoss() scales loss and gradient by scale", () => {
  const seq = { lpCur: [-1, -1], lpOld: [-1, -1], lpRef: null, entropy: [0, 0], advantage: 1 };
  const r = grpoLoss([seq], { klCoef: 0, scale: 0.125 });
  near(r.loss, -0.125, "loss");
  near(r.dLpCur[0][0], -0.5 * 0.125, "dLp");
});

Deno.test("grpoLoss() rejects mismatched lengths naming the field", () => {
  throws(
    () => grpoLoss([{ lpCur: [-1, -1], lpOld: [-1], lpRef: null, entropy: [0, 0], advantage: 1 }]),
    /sequences\[0\]\.lpOld: length 1, expected 2/,
  );
});

Deno.test("grpoLoss() rejects an empty completion", () => {
  throws(
    () => grpoLoss([{ lpCur: [], lpOld: [], lpRef: null, entropy: [], advantage: 1 }]),
    /no completion tokens/,
  );
});

Deno.test("clipAdvantages() uses torch.quantile's linear interpolation", () => {
  // torch.quantile(tensor([1., 2., 3., 100.]), 0.99) = 3 + 0.97·97 = 97.09.
  const a = clipAdvantages([1, -2, 3, -100], 99);
  near(a[3], -97.09, "clipped");
  deepStrictEqual(a.slice(0, 3), [1, -2, 3]);
});

Deno.test("clipAdvantages() leaves an empty batch empty", () => {
  deepStrictEqual(clipAdvantages([]), []);
});

Deno.test("grpoLoss() evaluated one sequence at a time with batch sizes sums to the batch's", () => {
  const seqs = [
    { lpCur: [-1.1, -0.4], lpOld: [-1, -0.5], lpRef: [-1, -1], entropy: [1, 2], advantage: 0.7 },
    { lpCur: [-0.3], lpOld: [-0.2], lpRef: [-0.5], entropy: [3], advantage: -1.2 },
  ];
  const whole = grpoLoss(seqs, { klCoef: 0.3 });
  const parts = seqs.map((s) => grpoLoss([s], { klCoef: 0.3, batch: { tokens: 3, sequences: 2 } }));
  near(parts[0].loss + parts[1].loss, whole.loss, "loss");
  near(parts[1].dLpCur[0][0], whole.dLpCur[1][0], "dLp");
  near(parts[0].dEntropy[0][1], whole.dEntropy[0][1], "dH");
});
