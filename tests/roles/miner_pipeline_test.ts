import { deepStrictEqual, ok as assert, rejects, strictEqual } from "node:assert/strict";
import { sketchCoefficients } from "../../src/protocol/coefficients.ts";
import { parseRollout, type Rollout } from "../../src/protocol/rollout.ts";
import { deriveEnvSeed } from "../../src/protocol/seeds.ts";
import { verifyCommitSignature, verifyRolloutSignature } from "../../src/protocol/signature.ts";
import { sketches } from "../../src/protocol/sketch.ts";
import { mineGroup, mineWindow } from "../../src/roles/miner_pipeline.ts";
import { buildPromptIds, evaluateCompletion } from "../../src/roles/task.ts";
import { decodeWindowFile, encodeWindowFile } from "../../src/net/window_file.ts";
import type { Model, ProofForwardOptions } from "../../src/model/model.ts";
import {
  devKey,
  fixtureModel,
  honestGroup,
  minerConfig,
  TASK,
  WINDOW,
  WINDOW_RANDOMNESS,
} from "./_fixtures.ts";

const alice = await devKey("alice");

Deno.test("mineGroup() emits 16 records that parse with the reference's fields", async () => {
  const rows = await honestGroup("alice");
  strictEqual(rows.length, 16);
  rows.forEach((r, i) => {
    deepStrictEqual(parseRollout(r), r);
    strictEqual(r.nonce, i);
    strictEqual(r.rollout_group, 0);
    strictEqual(r.rollout_index, i);
    strictEqual(r.total_in_group, 16);
    strictEqual(r.challenge, `|${WINDOW.blockHash}|${i}`);
    strictEqual(r.hotkey, alice.hotkey);
    strictEqual(r.commit.proof_version, "v5");
    deepStrictEqual(r.commit.model, { name: "qwen3-tiny", layer_index: -1 });
    strictEqual(r.commit.beacon.randomness, WINDOW_RANDOMNESS);
    strictEqual(r.randomness, WINDOW_RANDOMNESS);
  });
});

Deno.test("mineGroup() builds the prompt the validator rebuilds from the seed", async () => {
  const rows = await honestGroup("alice");
  const config = await minerConfig("alice");
  const prompt = buildPromptIds(
    TASK,
    deriveEnvSeed(alice.hotkey, WINDOW.blockHash, 0),
    config.tokenizer,
  );
  for (const r of rows) {
    strictEqual(r.commit.rollout.prompt_length, prompt.length);
    deepStrictEqual(r.commit.tokens.slice(0, prompt.length), prompt);
    strictEqual(
      r.commit.rollout.prompt_length + r.commit.rollout.completion_length,
      r.commit.tokens.length,
    );
  }
});

Deno.test("mineGroup() commits to every position with r from the combined randomness", async () => {
  const rows = await honestGroup("alice");
  const model = await fixtureModel();
  const [fwd] = await model.proofForward([rows[7].commit.tokens]);
  const expected = sketches(fwd.hidden, model.hiddenSize, sketchCoefficients(WINDOW_RANDOMNESS));
  deepStrictEqual(rows[7].commit.commitments.map((c) => c.sketch), Array.from(expected));
});

/**
 * The model with its backend sketches hidden: proofForward is asked without coefficients and
 * returns no `sketches`, so the miner falls back to the CPU sketches of `hidden`. `seen` collects
 * the options the miner passed.
 */
function withoutBackendSketches(model: Model, seen: (ProofForwardOptions | undefined)[]): Model {
  return {
    config: model.config,
    hiddenSize: model.hiddenSize,
    vocabSize: model.vocabSize,
    backend: model.backend,
    async proofForward(sequences, options) {
      seen.push(options);
      const results = await model.proofForward(sequences, {
        ...options,
        sketchCoefficients: undefined,
      });
      assert(results.every((r) => r.sketches === undefined));
      return results;
    },
    startGeneration: (batch, maxLen) => model.startGeneration(batch, maxLen),
    dispose: () => model.dispose(),
  };
}

const fallbackOptions: (ProofForwardOptions | undefined)[] = [];
let fallbackMined: Promise<Awaited<ReturnType<typeof mineGroup>>> | null = null;
/** alice's group 0 mined with the CPU fallback (once per process). */
async function minedWithFallback() {
  fallbackMined ??= (async () =>
    mineGroup(
      await minerConfig("alice", {
        model: withoutBackendSketches(await fixtureModel(), fallbackOptions),
      }),
      0,
    ))();
  return await fallbackMined;
}

Deno.test("mineGroup() commits the same records whether the backend sketches or the miner does", async () => {
  // Bit-exact: both paths are the protocol's sketches() over the same hidden states. sr25519
  // signatures are randomised, so they are compared by verification instead of by bytes.
  const mined = await minedWithFallback();
  assert(mined.ok);
  const unsigned = (r: Rollout) => {
    const { signature: _row, commit: { signature: _commit, ...commit }, ...rest } = r;
    return { ...rest, commit };
  };
  deepStrictEqual(mined.rollouts.map(unsigned), (await honestGroup("alice")).map(unsigned));
  for (const r of mined.rollouts) {
    assert(verifyCommitSignature(r.commit, alice.hotkey));
    assert(verifyRolloutSignature(r));
  }
});

Deno.test("mineGroup() asks proofForward for sketches with the window's coefficients", async () => {
  await minedWithFallback();
  strictEqual(fallbackOptions.length, 1);
  deepStrictEqual(
    fallbackOptions[0]?.sketchCoefficients,
    sketchCoefficients(WINDOW_RANDOMNESS),
  );
});

Deno.test("mineGroup() drops a group whose backend returns fewer sketches than positions", async () => {
  const model = await fixtureModel();
  const shortSketches: Model = {
    config: model.config,
    hiddenSize: model.hiddenSize,
    vocabSize: model.vocabSize,
    backend: model.backend,
    async proofForward(sequences, options) {
      const results = await model.proofForward(sequences, options);
      return results.map((r) => ({ ...r, sketches: r.sketches?.subarray(1) }));
    },
    startGeneration: (batch, maxLen) => model.startGeneration(batch, maxLen),
    dispose: () => model.dispose(),
  };
  const mined = await mineGroup(await minerConfig("alice", { model: shortSketches }), 0);
  strictEqual(mined.ok, false);
  if (!mined.ok) {
    strictEqual(mined.reason, "proof_failed");
    assert(mined.detail.includes("one per position"), mined.detail);
  }
});

Deno.test("mineGroup() stores prompt zeros then the completion's log-probs", async () => {
  const r = (await honestGroup("alice"))[2];
  const model = await fixtureModel();
  const [fwd] = await model.proofForward([r.commit.tokens]);
  const pl = r.commit.rollout.prompt_length;
  const lp = r.commit.rollout.token_logprobs;
  strictEqual(lp.length, r.commit.tokens.length);
  assert(lp.slice(0, pl).every((x) => x === 0));
  // Same forward, same float32 values: bit-exact.
  deepStrictEqual(lp.slice(pl), Array.from(fwd.nextTokenLogprobs.subarray(pl - 1)));
});

Deno.test("mineGroup() scores each completion with the environment and sets GRPO advantages", async () => {
  const rows = await honestGroup("alice");
  const config = await minerConfig("alice");
  const seed = deriveEnvSeed(alice.hotkey, WINDOW.blockHash, 0);
  for (const r of rows) {
    const env = evaluateCompletion(
      TASK,
      seed,
      r.commit.tokens.slice(r.commit.rollout.prompt_length),
      config.tokenizer,
    );
    strictEqual(r.commit.rollout.total_reward, env.reward);
    strictEqual(r.commit.rollout.success, env.success);
  }
  // Tolerance 1e-9: a sum of 16 doubles of magnitude ≤ 4.
  assert(Math.abs(rows.reduce((s, r) => s + r.commit.rollout.advantage, 0)) < 1e-9);
});

Deno.test("mineGroup() signs the commit binding and the row challenge with the miner's key", async () => {
  for (const r of await honestGroup("alice")) {
    assert(verifyCommitSignature(r.commit, alice.hotkey));
    assert(verifyRolloutSignature(r));
  }
});

Deno.test("mineGroup() records survive a window file round trip", async () => {
  const rows = await honestGroup("alice");
  const bytes = encodeWindowFile({
    wallet: alice.hotkey,
    windowStart: WINDOW.windowStart,
    timestamp: 1.8e9,
    rollouts: rows,
  });
  const back = decodeWindowFile(bytes, "alice.parquet");
  deepStrictEqual(back.rollouts, rows);
});

Deno.test("mineGroup() drops a group whose completions are shorter than 32 tokens", async () => {
  const config = await minerConfig("alice");
  const mined = await mineGroup({
    ...config,
    task: { ...TASK, generation: { ...TASK.generation, maxNewTokens: 20 } },
  }, 0);
  strictEqual(mined.ok, false);
  if (!mined.ok) strictEqual(mined.reason, "short_completion");
});

Deno.test("mineGroup() refuses a negative problem index", async () => {
  await rejects(() => mineGroup({} as never, -1), RangeError);
});

Deno.test("mineWindow() stops when the time budget says so", async () => {
  let asked = 0;
  const out = await mineWindow({} as never, {
    maxGroups: 5,
    shouldContinue: () => (asked++, false),
  });
  strictEqual(asked, 1);
  deepStrictEqual(out, { rollouts: [], dropped: [] });
});
