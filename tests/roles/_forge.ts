/**
 * Helpers of the forgery suite: validate one miner's group in a mode, and re-sign tampered rows
 * with the cheating miner's own key (a cheater can always sign what it submits).
 */

import type { Model } from "../../src/model/model.ts";
import type { Rollout } from "../../src/protocol/rollout.ts";
import {
  rolloutChallenge,
  signCommit,
  signRolloutChallenge,
  type Sr25519Keypair,
} from "../../src/protocol/signature.ts";
import { loadLogitsSource, type LogitsSource } from "../../src/roles/lm_head.ts";
import { pipelineTokenizer } from "../../src/roles/task.ts";
import {
  type MinerValidationResult,
  validateMinerFile,
  type VerificationMode,
} from "../../src/roles/validator_pipeline.ts";
import {
  fixtureModel,
  fixtureTokenizer,
  memoizedModel,
  QWEN3_TINY,
  TASK,
  WINDOW,
} from "./_fixtures.ts";
import { minerCombinedRandomness } from "../../src/protocol/seeds.ts";

let shared: Promise<{ model: Model; logits: LogitsSource }> | null = null;
/** The memoized fixture model and its logits rows, shared by every validator test. */
export function validatorModel(): Promise<{ model: Model; logits: LogitsSource }> {
  shared ??= (async () => ({
    model: memoizedModel(await fixtureModel()),
    logits: await loadLogitsSource(QWEN3_TINY),
  }))();
  return shared;
}

/** Deep copy of rows (tests mutate copies only). */
export function copyRows(rows: readonly Rollout[]): Rollout[] {
  return structuredClone(rows as Rollout[]);
}

/** Re-signs the commit binding and the row challenge with `keypair`, claiming `hotkey`. */
export function resign(row: Rollout, keypair: Sr25519Keypair, hotkey: string = row.hotkey): void {
  row.commit.signature = signCommit(row.commit, keypair);
  row.hotkey = hotkey;
  row.challenge = rolloutChallenge(row.block_hash, row.nonce);
  row.signature = signRolloutChallenge(row.challenge, keypair);
}

/** Validates `rows` as `miner`'s file for the shared window, every row checked. */
export async function validate(
  rows: readonly Rollout[],
  miner: string,
  mode: VerificationMode,
  window: Partial<{ windowStart: number; blockHash: string }> = {},
): Promise<MinerValidationResult> {
  const { model, logits } = await validatorModel();
  const windowStart = window.windowStart ?? WINDOW.windowStart;
  return validateMinerFile(rows, { wallet: miner, windowStart }, {
    mode,
    minerHotkey: miner,
    model,
    modelName: "qwen3-tiny",
    tokenizer: pipelineTokenizer(await fixtureTokenizer()),
    task: TASK,
    logits,
    selection: "all",
    window: {
      windowStart,
      blockHash: window.blockHash ?? WINDOW.blockHash,
      challengeRandomness: "c0ffee".repeat(10) + "abcd",
      // The window's value: its block hash with the window's drand round.
      beaconRandomness: minerCombinedRandomness(window.blockHash ?? WINDOW.blockHash, WINDOW.drand),
      checkpointWindow: WINDOW.checkpointWindow,
    },
  });
}

/** True when the miner's result rejects the file (hard failure, soft cutoff or group check). */
export function rejected(result: MinerValidationResult): boolean {
  return result.metrics.had_failure === 1;
}
