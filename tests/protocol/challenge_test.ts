// Golden values: protocol-vectors.json indices, grail-vectors.json indices_from_root and
// indices_in_range (reference indices_from_root over CPython random), and the challenge indices
// of both fixture models' golden.json. Exact: integer positions.
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { challengeIndices, challengeIndicesInRange } from "../../src/protocol/challenge.ts";
import { hashTokens } from "../../src/protocol/tokens.ts";
import { prf } from "../../src/protocol/prf.ts";
import { randomnessBytes } from "../../src/protocol/hex.ts";
import { ProtocolError } from "../../src/protocol/protocol_error.ts";
import {
  GOLDEN_MODELS,
  goldenTokens,
  longTokens,
  readFixtureJson,
  readGolden,
  toHex,
} from "./_fixtures.ts";

type Tokens = number[] | { generator: string; len: number };
const protocol = await readFixtureJson<{
  indices: { tokens: number[]; rand: string; seq_len: number; k: number; out: number[] }[];
}>("protocol-vectors.json");
const grail = await readFixtureJson<{
  indices_from_root: {
    tokens: Tokens;
    randomness: string;
    seq_len: number;
    k: number;
    branch: string;
    open_material_hex: string;
    indices: number[];
  }[];
  indices_in_range: {
    tokens: Tokens;
    randomness: string;
    start: number;
    end: number;
    k: number;
    indices: number[];
  }[];
}>("grail-vectors.json");

function tokensOf(t: Tokens): number[] {
  if (Array.isArray(t)) return t;
  const tokens = longTokens();
  strictEqual(tokens.length, t.len);
  return tokens;
}

Deno.test("challengeIndices() matches all 40 protocol-vectors index vectors (sample and shuffle)", () => {
  let matched = 0;
  for (const v of protocol.indices) {
    deepStrictEqual(
      challengeIndices(v.tokens, v.rand, v.seq_len, v.k),
      v.out,
      `${v.seq_len}/${v.k}`,
    );
    matched++;
  }
  strictEqual(matched, 40);
});

Deno.test("challengeIndices() matches all 8 grail-vectors indices_from_root (320/321 boundary, pool branch)", () => {
  let matched = 0;
  for (const v of grail.indices_from_root) {
    const tokens = tokensOf(v.tokens);
    const material = prf("open", [hashTokens(tokens), randomnessBytes(v.randomness)], 32);
    strictEqual(toHex(material), v.open_material_hex);
    deepStrictEqual(challengeIndices(tokens, v.randomness, v.seq_len, v.k), v.indices);
    matched++;
  }
  strictEqual(matched, 8);
});

Deno.test("challengeIndicesInRange() matches all 3 grail-vectors indices_in_range (short range included)", () => {
  let matched = 0;
  for (const v of grail.indices_in_range) {
    deepStrictEqual(
      challengeIndicesInRange(tokensOf(v.tokens), v.randomness, v.start, v.end, v.k),
      v.indices,
    );
    matched++;
  }
  strictEqual(matched, 3);
});

Deno.test("challengeIndicesInRange() matches the 6 golden sequences of both fixture models", async () => {
  let matched = 0;
  for (const name of GOLDEN_MODELS) {
    const golden = await readGolden(name);
    golden.json.seqs.forEach((seq, i) => {
      const tokens = goldenTokens(golden, i);
      strictEqual(tokens.length, seq.len);
      deepStrictEqual(
        challengeIndicesInRange(
          tokens,
          golden.json.randomness,
          seq.prompt_len,
          seq.len,
          golden.json.challenge_k,
        ),
        seq.indices,
      );
      matched++;
    });
  }
  strictEqual(matched, 6);
});

Deno.test("challengeIndicesInRange() returns [] for an empty range", () => {
  deepStrictEqual(challengeIndicesInRange([1, 2, 3], "ab", 5, 5, 32), []);
  deepStrictEqual(challengeIndicesInRange([1, 2, 3], "ab", 6, 5, 32), []);
});

Deno.test("challengeIndices() rejects k outside (0, seqLen]", () => {
  throws(() => challengeIndices([1], "ab", 10, 0), RangeError);
  throws(() => challengeIndices([1], "ab", 10, 11), RangeError);
});

Deno.test("challengeIndices() rejects an empty token list", () => {
  throws(() => challengeIndices([], "ab", 10, 2), RangeError);
});

Deno.test("challengeIndices() rejects randomness that normalises to nothing", () => {
  throws(
    () => challengeIndices([1], " 0x ", 10, 2),
    (e: unknown) => e instanceof ProtocolError && e.code === "empty_randomness",
  );
});
