// Golden texts: tests/fixtures/checkpoint/metadata_vectors.json, printed by CPython's json and
// hashlib (make_metadata_vectors.py). Text comparisons are exact: the reference hashes and signs
// these strings.
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { PublishedCheckpointError } from "../../../src/net/checkpoint/published_checkpoint_error.ts";
import {
  canonicalMetadataJson,
  computeConfigHash,
  metadataProblems,
  parseCheckpointMetadata,
  parseDeltaMetadata,
  PythonFloat,
  serializeCheckpointMetadata,
  serializeDeltaMetadata,
} from "../../../src/net/checkpoint/metadata.ts";

const vectors = JSON.parse(
  await Deno.readTextFile(
    new URL("../../fixtures/checkpoint/metadata_vectors.json", import.meta.url),
  ),
) as {
  metadata_json: string;
  config_hash: string;
  manifest_sig_message: string;
  delta_metadata_json: string;
};

const isBadMetadata = (e: unknown) =>
  e instanceof PublishedCheckpointError && e.code === "bad_metadata";

Deno.test("parseCheckpointMetadata() reads every field of a reference metadata.json", () => {
  const m = parseCheckpointMetadata(vectors.metadata_json, "metadata.json");
  strictEqual(m.window, 7230);
  strictEqual(m.checkpoint_type, "DELTA");
  strictEqual(m.prev_window, 7200);
  strictEqual(m.weights_hash, "c8c0d71271c3b744ada29d4f32b18b9e");
  deepStrictEqual(m.generation_params, {
    max_tokens: 2048,
    temperature: 0.7,
    top_p: 0.9,
    top_k: 50,
    repetition_penalty: 1,
  });
  deepStrictEqual(m.training_config.kl_coef, new PythonFloat(0));
  strictEqual(m.config_hash, vectors.config_hash);
});

Deno.test("serializeCheckpointMetadata() rewrites a reference metadata.json identically", () => {
  const m = parseCheckpointMetadata(vectors.metadata_json, "metadata.json");
  strictEqual(serializeCheckpointMetadata(m), vectors.metadata_json);
});

Deno.test("computeConfigHash() equals Python's sha256(json.dumps(sort_keys=True))", () => {
  const m = parseCheckpointMetadata(vectors.metadata_json, "metadata.json");
  strictEqual(computeConfigHash(m.training_config), vectors.config_hash);
});

Deno.test("canonicalMetadataJson() is the text manifest.sig signs", () => {
  const m = parseCheckpointMetadata(vectors.metadata_json, "metadata.json");
  strictEqual(canonicalMetadataJson(m), vectors.manifest_sig_message);
});

Deno.test("metadataProblems() accepts complete metadata", () => {
  deepStrictEqual(metadataProblems(parseCheckpointMetadata(vectors.metadata_json, "m")), []);
});

Deno.test("metadataProblems() names an invalid thinking mode and a missing generation key", () => {
  const raw = JSON.parse(vectors.metadata_json);
  raw.thinking_mode = "deep";
  delete raw.generation_params.top_k;
  deepStrictEqual(metadataProblems(parseCheckpointMetadata(JSON.stringify(raw), "m")), [
    "thinking_mode (invalid value 'deep')",
    "generation_params.top_k",
  ]);
});

Deno.test("parseCheckpointMetadata() refuses a manifest entry that is not SHA-256 hex", () => {
  const raw = JSON.parse(vectors.metadata_json);
  raw.file_manifest["config.json"] = "abc";
  throws(() => parseCheckpointMetadata(JSON.stringify(raw), "m"), isBadMetadata);
});

Deno.test("parseCheckpointMetadata() refuses a manifest path leaving the folder", () => {
  const raw = JSON.parse(vectors.metadata_json);
  raw.file_manifest["../evil"] = "a".repeat(64);
  throws(() => parseCheckpointMetadata(JSON.stringify(raw), "m"), isBadMetadata);
});

Deno.test("parseCheckpointMetadata() refuses text that is not JSON", () => {
  throws(() => parseCheckpointMetadata("{window: 1", "m"), isBadMetadata);
});

Deno.test("parseDeltaMetadata() and serializeDeltaMetadata() round-trip the reference text", () => {
  const d = parseDeltaMetadata(vectors.delta_metadata_json, "delta_metadata.json");
  strictEqual(d.format, "sparse_codec_v3.1");
  strictEqual(d.nonzero_params, 15);
  strictEqual(serializeDeltaMetadata(d), vectors.delta_metadata_json);
});

Deno.test("parseDeltaMetadata() refuses an unknown codec", () => {
  const raw = JSON.parse(vectors.delta_metadata_json);
  raw.format = "sparse_codec_v9";
  throws(
    () => parseDeltaMetadata(JSON.stringify(raw), "d"),
    (e: unknown) => e instanceof PublishedCheckpointError && e.code === "unsupported_format",
  );
});

Deno.test("serializeCheckpointMetadata() keeps integers beyond 2^53 exact through a rewrite", () => {
  // json.dumps of a training_config holding seed=2**63-1 keeps all 19 digits.
  const text = vectors.metadata_json.replace(
    '"training_config": {',
    '"training_config": {\n    "seed": 9223372036854775807,',
  );
  const m = parseCheckpointMetadata(text, "metadata.json");
  strictEqual(m.training_config.seed, 9223372036854775807n);
  strictEqual(serializeCheckpointMetadata(m), text);
});
