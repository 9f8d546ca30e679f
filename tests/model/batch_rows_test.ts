import { ok as assert, throws } from "node:assert/strict";
import {
  checkPrompts,
  checkProofBatch,
  checkToken,
  emptyProofResults,
  proofRowGroups,
  sharedPromptRows,
  storeLogprobs,
} from "../../src/model/batch_rows.ts";
import { ModelError } from "../../src/model/errors.ts";

function modelError(code: string, pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof ModelError && e.code === code && pattern.test(e.message);
}

Deno.test("checkToken() rejects ids outside the vocabulary and non-integers, naming where", () => {
  checkToken(0, 4, "x");
  checkToken(3, 4, "x");
  throws(() => checkToken(4, 4, "row 2"), modelError("bad_token", /token 4 at row 2.*\[0, 4\)/));
  throws(() => checkToken(-1, 4, "x"), modelError("bad_token", /-1/));
  throws(() => checkToken(1.5, 4, "x"), modelError("bad_token", /1\.5/));
});

Deno.test("checkProofBatch() returns the EOS id and rejects each bad input with its reason", () => {
  assert(checkProofBatch([[1, 2]], {}, 10, 8, 9) === 9);
  assert(checkProofBatch([[1, 2]], { eosTokenId: 3 }, 10, 8, 9) === 3);
  throws(() => checkProofBatch([[]], {}, 10, 8, 9), modelError("bad_input", /Sequence 0 is empty/));
  throws(
    () => checkProofBatch([[1], [1, 2, 3]], {}, 10, 2, 9),
    modelError("bad_input", /Sequence 1 has 3 tokens.*proof cache's 2/),
  );
  throws(
    () => checkProofBatch([[1, 12]], {}, 10, 8, 9),
    modelError("bad_token", /sequence 0 position 1/),
  );
  throws(
    () => checkProofBatch([[1, 2]], { eosPositions: [[0], [1]] }, 10, 8, 9),
    modelError("bad_input", /2 entries for 1 sequences/),
  );
  throws(
    () => checkProofBatch([[1, 2]], { eosPositions: [[0]] }, 10, 8, undefined),
    modelError("bad_input", /no eosTokenId/),
  );
  throws(
    () => checkProofBatch([[1, 2]], { eosPositions: [[2]] }, 10, 8, 9),
    modelError("bad_input", /EOS position 2 for sequence 0/),
  );
  throws(
    () => checkProofBatch([[1, 2]], { eosPositions: [[0]], eosTokenId: 10 }, 10, 8, 9),
    modelError("bad_token", /eosTokenId/),
  );
});

Deno.test("emptyProofResults() sizes hidden, log-probs, EOS probs and sketches per sequence", () => {
  const [a, b] = emptyProofResults([[1, 2, 3], [4]], 2, [[0, 2], []], false);
  assert(a.hidden.length === 6 && a.nextTokenLogprobs.length === 2 && a.eosProbs?.length === 2);
  assert(b.hidden.length === 2 && b.nextTokenLogprobs.length === 0 && b.eosProbs?.length === 0);
  assert(a.sketches === undefined);
  assert(emptyProofResults([[1]], 2, undefined, true)[0].sketches?.length === 1);
});

Deno.test("proofRowGroups() groups whole sequences that fit the cache, KV rows contiguous", () => {
  const groups = [...proofRowGroups([[1, 2], [3, 4], [5, 6, 7]], 4, [[], [1], []], 9, -1)];
  assert(groups.length === 2, `groups ${groups.length}`);
  const [g0, g1] = groups;
  assert(g0.map((r) => r.kvRow).join() === "0,1,2,3");
  assert(g0.map((r) => r.kvBase).join() === "0,0,2,2");
  assert(g0.map((r) => r.target).join() === "2,-1,4,-1");
  assert(g0.map((r) => r.eos).join() === "-1,-1,-1,9");
  assert(g1.map((r) => `${r.seq}:${r.pos}:${r.token}`).join() === "2:0:5,2:1:6,2:2:7");
});

Deno.test("storeLogprobs() writes each row's log-prob and the asked EOS probabilities", () => {
  const seqs = [[1, 2, 3]];
  const eos = [[2, 0]];
  const results = emptyProofResults(seqs, 1, eos, false);
  const [rows] = [...proofRowGroups(seqs, 8, eos, 7, -1)];
  storeLogprobs(results, rows, new Float32Array([-1, 0.25, -2, 0.5, -3, 0.75]), eos, -1);
  assert(results[0].nextTokenLogprobs.join() === "-1,-2");
  assert(results[0].eosProbs!.join() === "0.75,0.25");
});

Deno.test("checkPrompts() rejects a second prefill, a wrong count, empty, too long, bad ids", () => {
  checkPrompts([[1], [2, 3]], 2, 2, 10, false);
  throws(() => checkPrompts([[1]], 1, 2, 10, true), modelError("state", /prefill twice/));
  throws(() => checkPrompts([[1]], 2, 2, 10, false), modelError("bad_input", /Expected 2 prompts/));
  throws(() => checkPrompts([[]], 1, 2, 10, false), modelError("bad_input", /Prompt 0 is empty/));
  throws(() => checkPrompts([[1, 2, 3]], 1, 2, 10, false), modelError("cache_full", /holds 2/));
  throws(
    () => checkPrompts([[1, 11]], 1, 2, 10, false),
    modelError("bad_token", /at prompt 0 position 1/),
  );
});

Deno.test("sharedPromptRows() computes each distinct prompt once, in its first row's KV slot", () => {
  const { rows, source, lastRowOf } = sharedPromptRows([[5, 6], [7], [5, 6]], 4);
  assert(source.join() === "0,1,0");
  assert(rows.map((r) => `${r.token}@${r.kvRow}/${r.kvBase}`).join() === "5@0/0,6@1/0,7@4/4");
  assert(lastRowOf.get(0) === 1 && lastRowOf.get(1) === 2 && !lastRowOf.has(2));
});
