// Golden data, two independent sources:
// - payload bytes written by hand below from the byte layout in infra spec §4.6 (header JSON
//   typed out, little-endian integers spelled byte by byte), wrapped for decoding in a zstd
//   frame built by hand from RFC 8878 (one Raw block);
// - tests/fixtures/checkpoint/delta_*.{payload,bin.zst}: written by the reference's own
//   sparse_codec.py on the H100 machine (make_delta_golden.py, README there).
// All comparisons are byte-exact: these bytes are hashed (SHA-256 manifest) by consumers.
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { PublishedCheckpointError } from "../../../src/net/checkpoint/published_checkpoint_error.ts";
import {
  decodeDeltaPayload,
  decodeSparseDelta,
  type DeltaFormat,
  encodeDeltaPayload,
  encodeSparseDelta,
  type TensorDelta,
} from "../../../src/net/checkpoint/delta_codec.ts";
import { applySparseDelta, computeSparseDelta } from "../../../src/net/checkpoint/sparse_delta.ts";
import { computeWeightsHash } from "../../../src/net/checkpoint/weights_hash.ts";
import { GOLDEN_DIR, type GoldenExpected, goldenStateDict } from "./_golden.ts";

const FORMATS: [tag: "v2" | "v3" | "v31", format: DeltaFormat][] = [
  ["v2", "sparse_codec_v2"],
  ["v3", "sparse_codec_v3"],
  ["v31", "sparse_codec_v3.1"],
];
const expected = JSON.parse(
  await Deno.readTextFile(new URL("delta_expected.json", GOLDEN_DIR)),
) as GoldenExpected;
const golden = async (name: string) => await Deno.readFile(new URL(name, GOLDEN_DIR));

/** Tensor "a" [2, 3] bf16; positions 1 (row 0, col 1) and 5 (row 1, col 2) become 1.0 and 2.0. */
const SMALL: TensorDelta = {
  name: "a",
  shape: [2, 3],
  dtype: "BF16",
  positions: Float64Array.from([1, 5]),
  values: new Uint8Array([0x80, 0x3f, 0x00, 0x40]),
};

function payload(header: string, data: number[]): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(4 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 4);
  out.set(data, 4 + h.length);
  return out;
}

const SMALL_V2 = payload(
  '{"version":2,"tensors":[{"name":"a","shape":[2,3],"num_nonzero":2,' +
    '"value_dtype":"bfloat16","indices_offset":0,"indices_size":8,"values_offset":8,' +
    '"values_size":4}]}',
  [1, 0, 0, 0, 4, 0, 0, 0, 0x80, 0x3f, 0x00, 0x40],
);
const SMALL_V3 = payload(
  '{"version":3,"tensors":[{"name":"a","shape":[2,3],"num_nonzero":2,' +
    '"value_dtype":"bfloat16","indices_offset":0,"indices_size":16,"rows_size":8,' +
    '"cols_size":8,"values_offset":16,"values_size":4}]}',
  [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x80, 0x3f, 0x00, 0x40],
);
const SMALL_V31 = payload(
  '{"version":31,"tensors":[{"name":"a","shape":[2,3],"num_nonzero":2,' +
    '"value_dtype":"bfloat16","row_dtype":"uint8","col_dtype":"uint16","indices_offset":0,' +
    '"indices_size":6,"rows_size":2,"cols_size":4,"values_offset":6,"values_size":4}]}',
  [0, 1, 1, 0, 2, 0, 0x80, 0x3f, 0x00, 0x40],
);

/** A zstd frame (RFC 8878) with one Raw block: magic, descriptor 0x20 (single segment, 1-byte
 * content size), size, block header (last, raw, size << 3), bytes. */
function rawZstdFrame(content: Uint8Array): Uint8Array {
  if (content.length > 255) throw new RangeError("hand frame holds at most 255 bytes");
  const header = (content.length << 3) | 1;
  return new Uint8Array([
    0x28,
    0xb5,
    0x2f,
    0xfd,
    0x20,
    content.length,
    header & 0xff,
    (header >> 8) & 0xff,
    (header >> 16) & 0xff,
    ...content,
  ]);
}

Deno.test("encodeDeltaPayload() writes the spec's v2 layout byte for byte", () => {
  deepStrictEqual(encodeDeltaPayload([SMALL], "sparse_codec_v2"), SMALL_V2);
});

Deno.test("encodeDeltaPayload() writes the spec's v3 layout byte for byte", () => {
  deepStrictEqual(encodeDeltaPayload([SMALL], "sparse_codec_v3"), SMALL_V3);
});

Deno.test("encodeDeltaPayload() writes the spec's v3.1 layout byte for byte", () => {
  deepStrictEqual(encodeDeltaPayload([SMALL], "sparse_codec_v3.1"), SMALL_V31);
});

Deno.test("decodeSparseDelta() reads a hand-built zstd frame of each format", () => {
  for (
    const [bytes, format] of [
      [SMALL_V2, "sparse_codec_v2"],
      [SMALL_V3, "sparse_codec_v3"],
      [SMALL_V31, "sparse_codec_v3.1"],
    ] as const
  ) {
    deepStrictEqual(decodeSparseDelta(rawZstdFrame(bytes), format), [SMALL], format);
  }
});

Deno.test("encodeDeltaPayload() matches the reference's payloads byte for byte", async () => {
  const delta = computeSparseDelta(goldenStateDict(true), goldenStateDict(false));
  for (const [tag, format] of FORMATS) {
    deepStrictEqual(
      encodeDeltaPayload(delta.tensors, format),
      await golden(`delta_${tag}.payload`),
      tag,
    );
  }
});

Deno.test("encodeSparseDelta() matches the reference's zstd files byte for byte", async () => {
  // Same libzstd algorithm at level 1 on both sides, so even the frames agree.
  const delta = computeSparseDelta(goldenStateDict(true), goldenStateDict(false));
  for (const [tag, format] of FORMATS) {
    deepStrictEqual(
      await encodeSparseDelta(delta.tensors, format),
      await golden(`delta_${tag}.bin.zst`),
      tag,
    );
  }
});

Deno.test("encodeDeltaPayload() writes an empty delta as the reference does", () => {
  const hex = [...encodeDeltaPayload([], "sparse_codec_v3.1")]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  strictEqual(hex, expected.empty_v31_payload_hex);
});

Deno.test("decodeSparseDelta() rebuilds the reference's weights from each format", async () => {
  for (const [tag, format] of FORMATS) {
    const deltas = decodeSparseDelta(await golden(`delta_${tag}.bin.zst`), format);
    const weights = applySparseDelta(goldenStateDict(false), deltas);
    strictEqual(await computeWeightsHash(weights), expected.formats[tag].hash_reconstructed, tag);
  }
});

Deno.test("decodeSparseDelta() refuses a header version other than the announced format", async () => {
  const file = await golden("delta_v3.bin.zst");
  throws(
    () => decodeSparseDelta(file, "sparse_codec_v3.1"),
    (e: unknown) => e instanceof PublishedCheckpointError && e.code === "unsupported_format",
  );
});

Deno.test("decodeSparseDelta() refuses an Object.prototype name as the format", async () => {
  const file = await golden("delta_v3.bin.zst");
  throws(
    () => decodeSparseDelta(file, "constructor" as never),
    (e: unknown) => e instanceof PublishedCheckpointError && e.code === "unsupported_format",
  );
});

Deno.test("decodeSparseDelta() refuses bytes that are not zstd", () => {
  throws(
    () => decodeSparseDelta(new Uint8Array([1, 2, 3, 4, 5, 6]), "sparse_codec_v2"),
    (e: unknown) => e instanceof PublishedCheckpointError && e.code === "bad_delta",
  );
});

Deno.test("decodeDeltaPayload() refuses a position outside the tensor", () => {
  const bad = SMALL_V2.slice();
  bad[bad.length - 8] = 9; // second index delta 4 → 9: position 10 in a 6-element tensor
  throws(
    () => decodeDeltaPayload(bad, "sparse_codec_v2"),
    (e: unknown) =>
      e instanceof PublishedCheckpointError && e.code === "bad_delta" && /10/.test(e.message),
  );
});

Deno.test("decodeDeltaPayload() refuses repeated positions", () => {
  const bad = SMALL_V2.slice();
  bad[bad.length - 8] = 0; // second index delta 0 → position 1 twice
  throws(
    () => decodeDeltaPayload(bad, "sparse_codec_v2"),
    (e: unknown) => e instanceof PublishedCheckpointError && e.code === "bad_delta",
  );
});

Deno.test("decodeDeltaPayload() refuses an Object.prototype name as value_dtype", () => {
  const header = new TextDecoder().decode(SMALL_V2.subarray(4, SMALL_V2.length - 12))
    .replace('"bfloat16"', '"constructor"');
  throws(
    () => decodeDeltaPayload(payload(header, [...SMALL_V2.subarray(-12)]), "sparse_codec_v2"),
    (e: unknown) =>
      e instanceof PublishedCheckpointError && e.code === "bad_delta" &&
      e.message.includes('value_dtype "constructor"'),
  );
});

Deno.test("decodeDeltaPayload() refuses an Object.prototype name as row_dtype", () => {
  const header = new TextDecoder().decode(SMALL_V31.subarray(4, SMALL_V31.length - 10))
    .replace('"row_dtype":"uint8"', '"row_dtype":"toString"');
  throws(
    () => decodeDeltaPayload(payload(header, [...SMALL_V31.subarray(-10)]), "sparse_codec_v3.1"),
    (e: unknown) =>
      e instanceof PublishedCheckpointError && e.code === "bad_delta" &&
      e.message.includes("index dtypes toString/uint16"),
  );
});

Deno.test("decodeDeltaPayload() refuses a values section beyond the data", () => {
  const bad = payload(
    new TextDecoder().decode(SMALL_V2.subarray(4, SMALL_V2.length - 12)),
    [1, 0, 0, 0, 4, 0, 0, 0, 0x80, 0x3f],
  );
  throws(
    () => decodeDeltaPayload(bad, "sparse_codec_v2"),
    (e: unknown) => e instanceof PublishedCheckpointError && e.code === "bad_delta",
  );
});

Deno.test("decodeDeltaPayload() refuses or changes the weights for every payload bit flip", async () => {
  // A flip either is refused, or rebuilds other weights (so the weights hash catches it), or
  // rebuilds the very same weights (e.g. "col_dtype" → "bol_dtype": the absent key defaults to
  // int32, as in the reference, and int32 was the value; or the lowest bit of an f32 value that
  // the cast to bf16 drops). Whole files are also guarded by the SHA-256 manifest.
  const file = await golden("delta_v31.payload");
  const base = goldenStateDict(false);
  const published = applySparseDelta(base, decodeDeltaPayload(file, "sparse_codec_v3.1"));
  const counts = { refused: 0, changed: 0, same: 0 };
  for (let i = 0; i < file.length; i++) {
    const bad = file.slice();
    bad[i] ^= 0x01;
    let weights;
    try {
      weights = applySparseDelta(base, decodeDeltaPayload(bad, "sparse_codec_v3.1"));
      if (await computeWeightsHash(weights) !== expected.formats.v31.hash_reconstructed) {
        counts.changed++;
        continue;
      }
    } catch (e) {
      ok(e instanceof PublishedCheckpointError, `byte ${i}: ${e}`);
      counts.refused++;
      continue;
    }
    deepStrictEqual(weights, published, `byte ${i} flipped: same hash but other weights`);
    counts.same++;
  }
  ok(counts.refused > 1000 && counts.changed >= 38, JSON.stringify(counts));
});
