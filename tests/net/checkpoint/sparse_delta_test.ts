// Expected hashes and counts were printed by the reference's delta_checkpoint.py on the H100
// machine (tests/fixtures/checkpoint/delta_expected.json); bit-exact comparisons throughout.
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { PublishedCheckpointError } from "../../../src/net/checkpoint/published_checkpoint_error.ts";
import { applySparseDelta, computeSparseDelta } from "../../../src/net/checkpoint/sparse_delta.ts";
import type { RawTensor } from "../../../src/net/checkpoint/state_dict.ts";
import { GOLDEN_DIR, type GoldenExpected, goldenStateDict, SPECS } from "./_golden.ts";

const expected = JSON.parse(
  await Deno.readTextFile(new URL("delta_expected.json", GOLDEN_DIR)),
) as GoldenExpected;

const bf16 = (bits: number[], shape = [bits.length]): RawTensor => ({
  dtype: "BF16",
  shape,
  data: new Uint8Array(Uint16Array.from(bits).buffer),
});

Deno.test("computeSparseDelta() counts as the reference does", () => {
  const { stats } = computeSparseDelta(goldenStateDict(true), goldenStateDict(false));
  deepStrictEqual(
    [stats.totalParams, stats.nonzeroParams, stats.sparsityRatio],
    [
      expected.stats.total_params,
      expected.stats.nonzero_params,
      expected.stats.sparsity_ratio,
    ],
  );
});

Deno.test("computeSparseDelta() finds exactly the changed positions", () => {
  const { tensors } = computeSparseDelta(goldenStateDict(true), goldenStateDict(false));
  deepStrictEqual(
    tensors.map((t) => [t.name, [...t.positions]]),
    SPECS.filter((s) => s[3].length > 0).map((s) => [s[0], s[3]]),
  );
  deepStrictEqual(
    Object.fromEntries(tensors.map((t) => [t.name, t.shape])),
    expected.shapes,
  );
});

Deno.test("computeSparseDelta() records a sign change of zero", () => {
  // The reference compares values (+0 == -0) and would miss it; the hash covers the bits.
  const d = computeSparseDelta(new Map([["w", bf16([0x8000])]]), new Map([["w", bf16([0])]]));
  deepStrictEqual([...d.tensors[0].positions], [0]);
});

Deno.test("computeSparseDelta() of identical weights is empty", () => {
  const d = computeSparseDelta(goldenStateDict(false), goldenStateDict(false));
  deepStrictEqual(d.tensors, []);
  strictEqual(d.stats.sparsityRatio, 1);
});

Deno.test("computeSparseDelta() refuses tensors whose shapes differ", () => {
  throws(
    () => computeSparseDelta(new Map([["w", bf16([1, 2])]]), new Map([["w", bf16([1])]])),
    RangeError,
  );
});

Deno.test("applySparseDelta() casts to the first base tensor's dtype as the reference does", () => {
  // Golden: the f32 q_norm tensor comes back as bf16 (round to nearest even).
  const base = goldenStateDict(false);
  const weights = applySparseDelta(base, []);
  deepStrictEqual([...weights.values()].map((t) => t.dtype), SPECS.map(() => "BF16"));
  const qNorm = weights.get("model.layers.0.self_attn.q_norm.weight")!;
  const f32 = new Uint32Array(base.get("model.layers.0.self_attn.q_norm.weight")!.data.buffer);
  const got = new Uint16Array(qNorm.data.buffer, qNorm.data.byteOffset, 40);
  for (let i = 0; i < 40; i++) {
    const b = f32[i];
    strictEqual(got[i], (b + 0x7fff + ((b >>> 16) & 1)) >>> 16, `element ${i}`);
  }
});

Deno.test("applySparseDelta() refuses a delta for a tensor the base lacks", () => {
  throws(
    () =>
      applySparseDelta(new Map([["w", bf16([1])]]), [
        {
          name: "x",
          shape: [1],
          dtype: "BF16",
          positions: Float64Array.of(0),
          values: new Uint8Array(2),
        },
      ]),
    (e: unknown) => e instanceof PublishedCheckpointError && e.code === "bad_delta",
  );
});

Deno.test("applySparseDelta() reshapes to the delta's shape", () => {
  const out = applySparseDelta(new Map([["w", bf16([1, 2, 3, 4])]]), [
    {
      name: "w",
      shape: [2, 2],
      dtype: "BF16",
      positions: Float64Array.of(3),
      values: new Uint8Array([9, 0]),
    },
  ]);
  deepStrictEqual(out.get("w"), bf16([1, 2, 3, 9], [2, 2]));
});
