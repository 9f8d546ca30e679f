import { deepStrictEqual, ok as assert, rejects, strictEqual } from "node:assert/strict";
import { decodeWindowFile, encodeWindowFile } from "../../src/net/window_file.ts";
import { minerCombinedRandomness } from "../../src/protocol/seeds.ts";
import { pipelineTokenizer } from "../../src/roles/task.ts";
import { PRE_CHECKS, validateMinerFile } from "../../src/roles/validator_pipeline.ts";
import {
  devKey,
  fixtureTokenizer,
  honestGroup,
  TASK,
  WINDOW,
  WINDOW_RANDOMNESS,
} from "./_fixtures.ts";
import { copyRows, rejected, resign, validate, validatorModel } from "./_forge.ts";

const alice = await devKey("alice");

let shared: ReturnType<typeof makeBase> | null = null;
function baseConfig() {
  shared ??= makeBase();
  return shared;
}

async function makeBase() {
  const { model, logits } = await validatorModel();
  return {
    minerHotkey: alice.hotkey,
    model,
    modelName: "qwen3-tiny",
    tokenizer: pipelineTokenizer(await fixtureTokenizer()),
    task: TASK,
    logits,
    window: {
      windowStart: WINDOW.windowStart,
      blockHash: WINDOW.blockHash,
      challengeRandomness: "5a".repeat(32),
      beaconRandomness: WINDOW_RANDOMNESS,
      checkpointWindow: WINDOW.checkpointWindow,
    },
  };
}

for (const mode of ["compat", "strict"] as const) {
  Deno.test(`validateMinerFile() passes an honest two-group window file in ${mode} mode`, async () => {
    const rows = [...await honestGroup("alice", 0), ...await honestGroup("alice", 1)];
    const bytes = encodeWindowFile({
      wallet: alice.hotkey,
      windowStart: WINDOW.windowStart,
      timestamp: 1.8e9,
      rollouts: rows,
    });
    const file = decodeWindowFile(bytes, "alice.parquet", { validateRows: false });
    const result = await validateMinerFile(file.rollouts, file, { ...await baseConfig(), mode });
    // 32 rows > 20: the reference samples max(1, floor(0.1 × 2)) = 1 group of 16.
    strictEqual(result.checkedIndices.length, 16);
    assert(
      result.rollouts.every((v) => v.verdict === "pass"),
      JSON.stringify(result.rollouts.map((v) => v.reasons)),
    );
    strictEqual(result.metrics.had_failure, 0);
    strictEqual(result.metrics.estimated_valid, 32);
    strictEqual(result.fileFailure, undefined);
  });
}

Deno.test("validateMinerFile() runs the checks in the reference's order", async () => {
  const result = await validate(await honestGroup("alice"), alice.hotkey, "compat");
  deepStrictEqual(Object.keys(result.rollouts[0].checks), [
    "schema_valid",
    "tokens_valid",
    "env_prompt_valid",
    "proof_valid",
    "termination_valid",
    "env_eval_valid",
    "reward_valid",
    "logprobs_valid",
    "token_distribution_valid",
  ]);
});

Deno.test("validateMinerFile() fails a file whose wallet is not the miner", async () => {
  const bob = await devKey("bob");
  const result = await validateMinerFile(await honestGroup("alice"), {
    wallet: bob.hotkey,
    windowStart: WINDOW.windowStart,
  }, {
    ...await baseConfig(),
    mode: "compat",
  });
  strictEqual(result.fileFailure, "wallet_mismatch");
  strictEqual(result.rollouts.length, 16);
  strictEqual(result.metrics.failure_reason, "file:wallet_mismatch");
});

Deno.test("validateMinerFile() fails a file with an incomplete group", async () => {
  const rows = (await honestGroup("alice")).slice(0, 15);
  const result = await validateMinerFile(rows, {
    wallet: alice.hotkey,
    windowStart: WINDOW.windowStart,
  }, {
    ...await baseConfig(),
    mode: "strict",
  });
  strictEqual(result.fileFailure, "invalid_group_size");
  strictEqual(result.metrics.had_failure, 1);
});

Deno.test("validateMinerFile() stops at the first hard failure when asked", async () => {
  const rows = copyRows(await honestGroup("alice"));
  rows[4].signature = rows[3].signature;
  const result = await validateMinerFile(rows, {
    wallet: alice.hotkey,
    windowStart: WINDOW.windowStart,
  }, {
    ...await baseConfig(),
    mode: "compat",
    stopAtHardFailure: true,
    selection: "all",
  });
  strictEqual(result.rollouts.length, 5);
  deepStrictEqual(result.rollouts[4].failed, ["row_signature"]);
  strictEqual(result.metrics.failure_reason, "hard:row_signature");
  strictEqual(result.metrics.checked, 5);
});

Deno.test("validateMinerFile() with only proof runs the model-binding checks alone", async () => {
  const { tokenizer: _t, task: _k, logits: _l, ...config } = await baseConfig();
  const result = await validateMinerFile(await honestGroup("alice"), {
    wallet: alice.hotkey,
    windowStart: WINDOW.windowStart,
  }, {
    ...config,
    mode: "strict",
    only: "proof",
    selection: "all",
  });
  deepStrictEqual(Object.keys(result.rollouts[0].checks), [
    "schema_valid",
    "tokens_valid",
    "proof_valid",
    "logprobs_valid",
  ]);
  strictEqual(result.metrics.had_failure, 0);
});

Deno.test("validateMinerFile() in strict mode without the window's beacon says what it could not check", async () => {
  const config = await baseConfig();
  const result = await validateMinerFile(await honestGroup("alice"), {
    wallet: alice.hotkey,
    windowStart: WINDOW.windowStart,
  }, {
    ...config,
    window: { ...config.window, beaconRandomness: undefined },
    mode: "strict",
    selection: "all",
  });
  strictEqual(result.metrics.had_failure, 0);
  assert(result.notes.some((n) => n.startsWith("window beacon randomness not supplied")));
});

Deno.test("validateMinerFile() in strict mode rejects a file mixing two beacons without the window's value", async () => {
  const config = await baseConfig();
  const rows = copyRows(await honestGroup("alice"));
  const other = minerCombinedRandomness(WINDOW.blockHash, "77".repeat(32));
  rows[9].randomness = other;
  rows[9].commit.beacon = { randomness: other };
  resign(rows[9], alice.keypair);
  const result = await validateMinerFile(rows, {
    wallet: alice.hotkey,
    windowStart: WINDOW.windowStart,
  }, {
    ...config,
    window: { ...config.window, beaconRandomness: undefined },
    mode: "strict",
    selection: "all",
  });
  deepStrictEqual(result.rollouts[9].failed, ["beacon_randomness"]);
});

Deno.test("validateMinerFile() names a pre-check for every identity rule", () => {
  deepStrictEqual([...PRE_CHECKS], [
    "checkpoint_window",
    "window_start",
    "block_hash",
    "nonce",
    "row_signature",
    "row_hotkey",
    "row_challenge",
    "beacon_randomness",
  ]);
});

Deno.test("validateMinerFile() refuses a temperature without logits rows", async () => {
  const { logits: _l, ...config } = await baseConfig();
  await rejects(
    () =>
      validateMinerFile([], { wallet: alice.hotkey, windowStart: WINDOW.windowStart }, {
        ...config,
        mode: "compat",
      }),
    /without logits rows/,
  );
});

Deno.test("validateMinerFile() fails a checkpoint window other than the validator's", async () => {
  const rows = copyRows(await honestGroup("alice"));
  for (const r of rows) r.checkpoint_window = WINDOW.checkpointWindow - 30;
  assert(rejected(await validate(rows, alice.hotkey, "compat")));
});

Deno.test("validateMinerFile() fails a check that throws as that check, not as a skipped row", async () => {
  const config = await baseConfig();
  const result = await validateMinerFile(await honestGroup("alice"), {
    wallet: alice.hotkey,
    windowStart: WINDOW.windowStart,
  }, {
    ...config,
    // gsm8k is registered upstream but not implemented here: building its prompt throws.
    task: { ...TASK, envId: "gsm8k" },
    mode: "compat",
    selection: "all",
  });
  deepStrictEqual(result.rollouts[0].failed, ["env_prompt_valid"]);
  assert(result.rollouts[0].reasons.env_prompt_valid.startsWith("threw:"));
  strictEqual(result.metrics.failure_reason, "hard:env_prompt_valid");
});

Deno.test("validateMinerFile() fails a row whose hotkey is not an address at the row signature", async () => {
  const rows = copyRows(await honestGroup("alice"));
  rows[6].hotkey = "not-an-ss58-address";
  for (const mode of ["strict", "compat"] as const) {
    const result = await validate(rows, alice.hotkey, mode);
    deepStrictEqual(result.rollouts[6].failed, ["row_signature"], mode);
  }
});

Deno.test("validateMinerFile() in strict mode requires nonce = group × 16 + index with index < 16", async () => {
  const rows = copyRows(await honestGroup("alice"));
  // Swap two rows' indices: nonces stay unique, so v5 does not notice.
  rows[1].rollout_index = 2;
  rows[2].rollout_index = 1;
  deepStrictEqual((await validate(rows, alice.hotkey, "strict")).rollouts[1].failed, ["nonce"]);
  strictEqual((await validate(rows, alice.hotkey, "compat")).metrics.had_failure, 0);
});
