// Expected digests: xxHash's own sanity vectors (Cyan4973/xxHash cli/xsum_sanity_check.c,
// XSUM_XXH128_testdata, seed 0, over its PRIME-generated test buffer), a Python-xxhash value
// quoted by ClickHouse's tests, and the reference's hashes of the golden weights. Exact.
import { strictEqual } from "node:assert/strict";
import { computeWeightsHash } from "../../../src/net/checkpoint/weights_hash.ts";
import type { RawTensor } from "../../../src/net/checkpoint/state_dict.ts";
import { GOLDEN_DIR, type GoldenExpected, goldenStateDict } from "./_golden.ts";

/** xxHash's sanity buffer: byte i = top byte of PRIME32 · PRIME64^i (mod 2^64). */
function sanityBuffer(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let gen = 2654435761n;
  for (let i = 0; i < n; i++) {
    out[i] = Number(gen >> 56n);
    gen = BigInt.asUintN(64, gen * 11400714785074694797n);
  }
  return out;
}

const raw = (data: Uint8Array): RawTensor => ({ dtype: "BF16", shape: [data.length / 2], data });

Deno.test("computeWeightsHash() is XXH3-128 over names in sorted order", async () => {
  // Canonical hex = high64 then low64 of { 0x6E73A90539CF2948, 0xCCB134FBFA7CE49D } (len 2240).
  const buf = sanityBuffer(2240);
  const weights = new Map([["b", raw(buf.slice(1000))], ["a", raw(buf.slice(0, 1000))]]);
  strictEqual(await computeWeightsHash(weights), "ccb134fbfa7ce49d6e73a90539cf2948");
});

Deno.test("computeWeightsHash() matches XXH3-128 sanity vectors of every length class", async () => {
  const vectors: [number, string][] = [
    [0, "99aa06d3014798d86001c324468d497f"],
    [2048, "f736557fd47073a5dd59e2c3a5f038e0"],
  ];
  for (const [n, hex] of vectors) {
    const weights = n === 0 ? new Map() : new Map([["w", raw(sanityBuffer(n))]]);
    strictEqual(await computeWeightsHash(weights), hex, `len ${n}`);
  }
});

Deno.test("computeWeightsHash() matches python-xxhash on a short input", async () => {
  // xxhash.xxh3_128_hexdigest(b'ClickHouse') = 14C27B7BEF95D36FECF5520CA2DAF030.
  const bytes = new TextEncoder().encode("ClickHouse");
  strictEqual(
    await computeWeightsHash(new Map([["w", raw(bytes)]])),
    "14c27b7bef95d36fecf5520ca2daf030",
  );
});

Deno.test("computeWeightsHash() matches the reference's hashes of the golden weights", async () => {
  const expected = JSON.parse(
    await Deno.readTextFile(new URL("delta_expected.json", GOLDEN_DIR)),
  ) as GoldenExpected;
  strictEqual(await computeWeightsHash(goldenStateDict(false)), expected.hash_base);
  strictEqual(await computeWeightsHash(goldenStateDict(true)), expected.hash_current);
});
