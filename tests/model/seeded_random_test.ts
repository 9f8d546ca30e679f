import { deepStrictEqual, notDeepStrictEqual, ok as assert, throws } from "node:assert/strict";
import { SeededRandom } from "../../src/model/seeded_random.ts";

Deno.test("SeededRandom.random() repeats its stream for the same seed", () => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  deepStrictEqual(
    Array.from({ length: 8 }, () => a.random()),
    Array.from({ length: 8 }, () => b.random()),
  );
});

Deno.test("SeededRandom.random() differs between seeds", () => {
  const a = new SeededRandom(1);
  const b = new SeededRandom(2);
  notDeepStrictEqual(
    Array.from({ length: 4 }, () => a.random()),
    Array.from({ length: 4 }, () => b.random()),
  );
});

Deno.test("SeededRandom.random() has mean 1/2 within 4 standard errors over 10,000 draws", () => {
  // The mean of n uniforms has standard error sqrt(1/12/n) ≈ 0.0029.
  const r = new SeededRandom(3);
  let s = 0;
  for (let i = 0; i < 10000; i++) {
    const x = r.random();
    assert(x >= 0 && x < 1);
    s += x;
  }
  assert(Math.abs(s / 10000 - 0.5) < 4 * Math.sqrt(1 / 12 / 10000));
});

Deno.test("SeededRandom.normal() has mean 0 and variance 1 within sampling error", () => {
  // n = 10,000: mean SE 0.01, variance SE ≈ sqrt(2/n) ≈ 0.014; bounds are 4 SE.
  const r = new SeededRandom(5);
  const xs = Array.from({ length: 10000 }, () => r.normal());
  const mean = xs.reduce((a, b) => a + b) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  assert(Math.abs(mean) < 0.04, `mean ${mean}`);
  assert(Math.abs(variance - 1) < 0.057, `variance ${variance}`);
});

Deno.test("SeededRandom() rejects a non-integer seed", () => {
  throws(() => new SeededRandom(1.5), RangeError);
});
