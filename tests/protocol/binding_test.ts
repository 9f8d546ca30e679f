// Golden values: protocol-vectors.json binding, grail-vectors.json commit_binding, and both
// fixture models' commit_binding_hex_bf16_cuda and tokens_hash_hex (reference signatures.py /
// tokens.py). Exact: digests.
import { strictEqual, throws } from "node:assert/strict";
import { commitBinding, hashCommitments } from "../../src/protocol/binding.ts";
import { canonicalJson } from "../../src/protocol/python_json.ts";
import { hashTokens } from "../../src/protocol/tokens.ts";
import { GOLDEN_MODELS, goldenTokens, readFixtureJson, readGolden, toHex } from "./_fixtures.ts";

type Commitments = { sketch: number }[];
const protocol = await readFixtureJson<{
  binding: {
    tokens: number[];
    rand: string;
    model: string;
    layer: number;
    commitments: Commitments;
    commitments_hash_hex: string;
    binding_hex: string;
  }[];
}>("protocol-vectors.json");
const grail = await readFixtureJson<{
  commit_binding: {
    tokens: number[];
    randomness: string;
    model_name: string;
    layer_index: number;
    commitments: Commitments;
    canonical_commitments_json_prefix: string;
    commitments_hash_hex: string;
    message_to_sign_hex: string;
  };
}>("grail-vectors.json");

Deno.test("commitBinding() matches the protocol-vectors binding and its commitments hash", () => {
  let matched = 0;
  for (const v of protocol.binding) {
    strictEqual(toHex(hashCommitments(v.commitments)), v.commitments_hash_hex);
    strictEqual(
      toHex(commitBinding(v.tokens, v.rand, v.model, v.layer, v.commitments)),
      v.binding_hex,
    );
    matched++;
  }
  strictEqual(matched, 1);
});

Deno.test("commitBinding() matches the grail-vectors commit binding (0x randomness, 48 sketches)", () => {
  const v = grail.commit_binding;
  strictEqual(
    canonicalJson(v.commitments).slice(0, v.canonical_commitments_json_prefix.length),
    v.canonical_commitments_json_prefix,
  );
  strictEqual(toHex(hashCommitments(v.commitments)), v.commitments_hash_hex);
  strictEqual(
    toHex(commitBinding(v.tokens, v.randomness, v.model_name, v.layer_index, v.commitments)),
    v.message_to_sign_hex,
  );
});

Deno.test("hashTokens() and commitBinding() match all 6 golden sequences of both fixture models", async () => {
  let matched = 0;
  for (const name of GOLDEN_MODELS) {
    const golden = await readGolden(name);
    for (const [i, seq] of golden.json.seqs.entries()) {
      const tokens = goldenTokens(golden, i);
      strictEqual(toHex(hashTokens(tokens)), seq.tokens_hash_hex);
      const commitments = seq.sketch_bf16_cuda.map((sketch) => ({ sketch }));
      strictEqual(
        toHex(commitBinding(tokens, golden.json.randomness, name, -1, commitments)),
        seq.commit_binding_hex_bf16_cuda,
      );
      matched++;
    }
  }
  strictEqual(matched, 6);
});

Deno.test("commitBinding() changes when any bound part changes", () => {
  const base = toHex(commitBinding([1, 2], "ab", "m", -1, [{ sketch: 1 }, { sketch: 2 }]));
  const variants = [
    commitBinding([1, 3], "ab", "m", -1, [{ sketch: 1 }, { sketch: 2 }]),
    commitBinding([1, 2], "ac", "m", -1, [{ sketch: 1 }, { sketch: 2 }]),
    commitBinding([1, 2], "ab", "n", -1, [{ sketch: 1 }, { sketch: 2 }]),
    commitBinding([1, 2], "ab", "m", 0, [{ sketch: 1 }, { sketch: 2 }]),
    commitBinding([1, 2], "ab", "m", -1, [{ sketch: 1 }, { sketch: 3 }]),
  ];
  for (const v of variants) strictEqual(toHex(v) === base, false);
});

Deno.test("commitBinding() accepts empty randomness and an empty model name, as the reference", () => {
  strictEqual(commitBinding([1], "", "", -1, [{ sketch: 0 }]).length, 32);
});

Deno.test("commitBinding() rejects a layer index outside int32", () => {
  throws(() => commitBinding([1], "ab", "m", 2 ** 31, [{ sketch: 0 }]), RangeError);
});
