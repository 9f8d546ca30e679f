// Golden values: grail-vectors.json tolerance and mod_distance, and both fixture models'
// verify_f32_validator_vs_bf16_miner verdicts (reference verifier: sketches recomputed from
// hidden_f32 against the bf16-CUDA miner's sketches). Exact: integer arithmetic. Golden diffs are
// compared exactly where the f32 row has no 16th/17th tie (all rows here; checked).
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  modularDistance,
  sketchTolerance,
  verifyCommitmentsAt,
  verifySketch,
} from "../../src/protocol/verify.ts";
import { sketchCoefficients } from "../../src/protocol/coefficients.ts";
import { sketches } from "../../src/protocol/sketch.ts";
import { challengeIndicesInRange } from "../../src/protocol/challenge.ts";
import { PRIME_Q } from "../../src/protocol/constants.ts";
import {
  GOLDEN_MODELS,
  goldenTokens,
  hasBoundaryTie,
  readFixtureJson,
  readGolden,
} from "./_fixtures.ts";

const grail = await readFixtureJson<{
  tolerance: { pos: number; tol: number }[];
  mod_distance: { a: number; b: number; dist: number }[];
}>("grail-vectors.json");

Deno.test("sketchTolerance() matches all 10 grail-vectors tolerances", () => {
  let matched = 0;
  for (const v of grail.tolerance) {
    strictEqual(sketchTolerance(v.pos), v.tol, `pos ${v.pos}`);
    matched++;
  }
  strictEqual(matched, 10);
});

Deno.test("modularDistance() matches all 5 grail-vectors distances", () => {
  let matched = 0;
  for (const v of grail.mod_distance) {
    strictEqual(modularDistance(v.a, v.b), v.dist);
    matched++;
  }
  strictEqual(matched, 5);
});

Deno.test("verifySketch() passes at the tolerance and fails one above", () => {
  deepStrictEqual(verifySketch(0, 6000, 0), { ok: true, diff: 6000, tolerance: 6000 });
  deepStrictEqual(verifySketch(0, 6001, 0), { ok: false, diff: 6001, tolerance: 6000 });
});

Deno.test("verifySketch() rejects sketches outside [0, PRIME_Q) instead of accepting them", () => {
  // The reference's min(d, Q − d) goes negative here and would pass any position.
  throws(() => verifySketch(0, 3 * PRIME_Q, 0), RangeError);
  throws(() => verifySketch(0, -1, 0), RangeError);
});

Deno.test("sketchTolerance() rejects a negative position", () => {
  throws(() => sketchTolerance(-1), RangeError);
});

Deno.test("verifyCommitmentsAt() reproduces all 6 golden f32-validator vs bf16-miner verdict lists", async () => {
  let sequences = 0;
  let positions = 0;
  for (const name of GOLDEN_MODELS) {
    const golden = await readGolden(name);
    const coeffs = sketchCoefficients(golden.json.randomness);
    for (const [i, seq] of golden.json.seqs.entries()) {
      const tensor = golden.tensors.get(`seq${i}.hidden_f32`)!;
      const hiddenDim = tensor.shape[1];
      const indices = challengeIndicesInRange(
        goldenTokens(golden, i),
        golden.json.randomness,
        seq.prompt_len,
        seq.len,
        32,
      );
      const commitments = seq.sketch_bf16_cuda.map((sketch) => ({ sketch }));
      const result = verifyCommitmentsAt(tensor.data, hiddenDim, commitments, indices, coeffs);
      const expected = seq.verify_f32_validator_vs_bf16_miner;
      strictEqual(result.positions.length, expected.length);
      result.positions.forEach((p, j) => {
        strictEqual(p.position, expected[j].pos);
        strictEqual(p.ok, expected[j].valid);
        strictEqual(p.tolerance, expected[j].tol);
        const row = tensor.data.subarray(p.position * hiddenDim, (p.position + 1) * hiddenDim);
        ok(!hasBoundaryTie(row), "f32 rows have no boundary ties, so diffs must be exact");
        strictEqual(p.diff, expected[j].diff, `${name} seq${i} pos ${p.position}`);
        positions++;
      });
      strictEqual(result.ok, expected.every((e) => e.valid));
      sequences++;
    }
  }
  strictEqual(sequences, 6);
  console.log(`verdicts: ${positions} challenged positions matched`);
});

Deno.test("verifyCommitmentsAt() fails the whole check when one position is off", () => {
  const hidden = Float32Array.from({ length: 4 * 16 }, (_, i) => (i % 7) * 10 - 30);
  const coeffs = sketchCoefficients("ab");
  const commitments = Array.from(sketches(hidden, 16, coeffs), (sketch) => ({ sketch }));
  strictEqual(verifyCommitmentsAt(hidden, 16, commitments, [0, 1, 2, 3], coeffs).ok, true);
  commitments[2] = { sketch: (commitments[2].sketch + 7000) % PRIME_Q };
  const result = verifyCommitmentsAt(hidden, 16, commitments, [0, 1, 2, 3], coeffs);
  strictEqual(result.ok, false);
  deepStrictEqual(result.positions.map((p) => p.ok), [true, true, false, true]);
});

Deno.test("verifyCommitmentsAt() with no challenged positions passes", () => {
  const result = verifyCommitmentsAt(
    new Float32Array(16),
    16,
    [{ sketch: 0 }],
    [],
    sketchCoefficients("ab"),
  );
  deepStrictEqual(result, { ok: true, positions: [] });
});

Deno.test("verifyCommitmentsAt() rejects an index beyond the commitments", () => {
  throws(
    () =>
      verifyCommitmentsAt(new Float32Array(32), 16, [{ sketch: 0 }], [1], sketchCoefficients("ab")),
    RangeError,
  );
});
