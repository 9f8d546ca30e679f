import { deepStrictEqual, ok as assert, strictEqual } from "node:assert/strict";
import { ropeInverseFrequencies, ropeTable } from "../../src/model/rope.ts";
import { f32ToBf16Bytes, widenToF32 } from "../../src/model/safetensors.ts";

const QWEN = { headDim: 32, ropeTheta: 1e6, ropeScaling: null };
const LLAMA31 = {
  headDim: 128,
  ropeTheta: 500000,
  ropeScaling: {
    type: "llama3" as const,
    factor: 8,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositionEmbeddings: 8192,
  },
};

function ulpsApart(a: number, b: number): number {
  const f = new Float32Array([a, b]);
  const i = new Int32Array(f.buffer);
  return Math.abs(i[0] - i[1]);
}

Deno.test("ropeInverseFrequencies() in float32 is within 1 ulp of theta^(-2i/HS)", () => {
  // transformers computes base ** (2i/HS) in float32; libm pow may differ by one ulp.
  const inv = ropeInverseFrequencies(QWEN, { roundTo: "float32" });
  strictEqual(inv.length, 16);
  inv.forEach((v, i) => assert(ulpsApart(v, 1 / Math.pow(1e6, (2 * i) / 32)) <= 1, `i=${i}`));
});

Deno.test("ropeInverseFrequencies() by default rounds the float32 values to bf16", () => {
  const f32 = ropeInverseFrequencies(QWEN, { roundTo: "float32" });
  deepStrictEqual(ropeInverseFrequencies(QWEN), widenToF32(f32ToBf16Bytes(f32), "BF16"));
});

Deno.test("ropeInverseFrequencies() with Llama-3 scaling keeps short, divides long, smooths the band", () => {
  // Llama-3.1 rule: wavelength 2π/f below 8192/4 = 2048 keeps f; above 8192/1 divides f by 8;
  // between, f·((1−s)/8 + s) with s = (8192/wavelength − 1)/(4 − 1).
  const plain = ropeInverseFrequencies({ ...LLAMA31, ropeScaling: null }, { roundTo: "float32" });
  const scaled = ropeInverseFrequencies(LLAMA31, { roundTo: "float32" });
  let short = 0, long = 0, band = 0;
  plain.forEach((f, i) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < 2048) {
      strictEqual(scaled[i], f);
      short++;
    } else if (wavelen > 8192) {
      strictEqual(scaled[i], Math.fround(f / 8));
      long++;
    } else {
      const s = (8192 / wavelen - 1) / 3;
      const expected = f * ((1 - s) / 8 + s);
      assert(Math.abs(scaled[i] - expected) <= 1e-6 * expected, `i=${i}`);
      band++;
    }
  });
  assert(short > 0 && long > 0 && band > 0, `${short} ${long} ${band}`);
});

Deno.test("ropeTable() rounds the angle to float32 before cos and sin", () => {
  const inv = new Float32Array([0.1, 0.001]);
  const { cos, sin } = ropeTable(inv, 300);
  const angle = Math.fround(299 * inv[0]);
  strictEqual(cos[299 * 2], Math.fround(Math.cos(angle)));
  strictEqual(sin[299 * 2], Math.fround(Math.sin(angle)));
  strictEqual(cos[0], 1);
  strictEqual(sin[1], 0);
});

Deno.test("ropeTable() of zero positions is empty", () => {
  strictEqual(ropeTable(new Float32Array(4), 0).cos.length, 0);
});
