/**
 * The miner's proof pipeline for one window (protocol spec §7): for each problem index derive the
 * seed, build the prompt as the validator will, generate a GRPO group of 16 in one batch, run the
 * proof forward, commit to every position with r from the combined randomness, score with the
 * environment, compute advantages, sign, and assemble `Rollout` records.
 *
 * Shapes: B rows in a group (16), T positions of a row, C hidden size.
 *
 * @module
 */

import { generateGroup, type GenerationOutput } from "../model/generate.ts";
import type { Model } from "../model/model.ts";
import type { UniformSource } from "../model/sampling.ts";
import { sketchCoefficients } from "../protocol/coefficients.ts";
import {
  CHALLENGE_K,
  GRAIL_PROOF_VERSION,
  LAYER_INDEX,
  ROLLOUTS_PER_PROBLEM,
} from "../protocol/constants.ts";
import type { Rollout, RolloutCommit } from "../protocol/rollout.ts";
import { deriveEnvSeed } from "../protocol/seeds.ts";
import {
  rolloutChallenge,
  signCommit,
  signRolloutChallenge,
  type Sr25519Keypair,
} from "../protocol/signature.ts";
import { sketches } from "../protocol/sketch.ts";
import { computeAdvantages } from "../validation/advantages.ts";
import {
  buildPromptIds,
  evaluateCompletion,
  type PipelineTokenizer,
  type TaskConfig,
} from "./task.ts";

/** The window as the miner sees it. */
export interface MinerWindow {
  /** Window start W. */
  windowStart: number;
  /** Block hash of W, `"0x"` + 64 hex, as the chain RPC returns it. */
  blockHash: string;
  /** Combined randomness (`minerCombinedRandomness(blockHash, drand)`), hex without `0x`. */
  randomness: string;
  /** Whether drand went into `randomness`. */
  useDrand: boolean;
  /** Trainer checkpoint window of the model in use. */
  checkpointWindow: number;
  /** Block at packaging time (informational). */
  block: number;
}

/** Everything the pipeline needs; built once per window by the miner role. */
export interface MinerPipelineConfig {
  /** The loaded model (any backend). */
  model: Model;
  /** `commit.model.name`: the checkpoint's `model_name` / `name_or_path`. */
  modelName: string;
  /** Tokenizer of the checkpoint. */
  tokenizer: PipelineTokenizer;
  /** The window's task (checkpoint metadata). */
  task: TaskConfig;
  /** The window. */
  window: MinerWindow;
  /** The miner hotkey (SS58) and its key pair. */
  hotkey: string;
  /** The hotkey's key pair. */
  keypair: Sr25519Keypair;
  /** Seeded sampling randomness. */
  rng: UniformSource;
  /** Unix seconds, for the informational `timestamp` field. */
  now: () => number;
}

/** Why a group was dropped rather than emitted (a partial group hard-fails the validator). */
export type DroppedGroupReason = "short_completion" | "proof_failed" | "env_failed";

/** The outcome of mining one problem. */
export type MinedGroup =
  | { ok: true; group: number; seed: number; rollouts: Rollout[] }
  | { ok: false; group: number; seed: number; reason: DroppedGroupReason; detail: string };

/**
 * Mines one problem: 16 rollouts with proofs, or the reason the group was dropped.
 *
 * @param config The window's pipeline configuration.
 * @param group The problem index (`rollout_group`), 0, 1, 2, …
 * @returns The 16 signed rollouts, or a dropped group with its reason.
 * @throws {RangeError} For a negative or non-integer group.
 *
 * @example
 * ```ts ignore
 * // config: model, tokenizer, task, window, keys (see tests/roles/_fixtures.ts); takes seconds.
 * const mined = await mineGroup(config, 0);
 * if (mined.ok) rollouts.push(...mined.rollouts);
 * ```
 */
export async function mineGroup(config: MinerPipelineConfig, group: number): Promise<MinedGroup> {
  if (!Number.isSafeInteger(group) || group < 0) {
    throw new RangeError(`Invalid problem index ${group}: expected an integer ≥ 0`);
  }
  const { model, tokenizer, task, window } = config;
  const seed = deriveEnvSeed(config.hotkey, window.blockHash, group);
  const prompt = buildPromptIds(task, seed, tokenizer);
  const eos = tokenizer.eosTokenId === null ? undefined : [tokenizer.eosTokenId];
  const outputs = await generateGroup(
    model,
    prompt,
    { ...task.generation, eosTokenIds: eos },
    config.rng,
    ROLLOUTS_PER_PROBLEM,
  );
  // Protocol spec §7.3: a short completion cannot be challenged at 32 positions.
  const short = outputs.findIndex((o) => o.completionLength < CHALLENGE_K);
  if (short >= 0) {
    return {
      ok: false,
      group,
      seed,
      reason: "short_completion",
      detail: `rollout ${short} has ${
        outputs[short].completionLength
      } completion tokens, fewer than ${CHALLENGE_K}`,
    };
  }
  const coeffs = sketchCoefficients(window.randomness);
  let proofs;
  try {
    // Backends that keep the hidden states on a device sketch them there (a few hundred µs on a
    // GPU instead of ~170 ms of CPU per group); the others leave it to the CPU below.
    proofs = await model.proofForward(outputs.map((o) => o.tokens), {
      sketchCoefficients: coeffs,
    });
    proofs.forEach((p, i) => {
      if (p.sketches !== undefined && p.sketches.length !== outputs[i].tokens.length) {
        throw new Error(
          `The ${model.backend} backend returned ${p.sketches.length} sketches for rollout ${i} of ${
            outputs[i].tokens.length
          } tokens: expected one per position`,
        );
      }
    });
  } catch (cause) {
    return { ok: false, group, seed, reason: "proof_failed", detail: errorText(cause) };
  }
  let scores: { reward: number; success: boolean }[];
  try {
    scores = outputs.map((o) =>
      evaluateCompletion(task, seed, o.tokens.slice(o.promptLength), tokenizer)
    );
  } catch (cause) {
    return { ok: false, group, seed, reason: "env_failed", detail: errorText(cause) };
  }
  const advantages = computeAdvantages(scores.map((s) => s.reward));
  const rollouts = outputs.map((o, i) =>
    assembleRollout(config, group, i, o, {
      sketch: proofs[i].sketches ?? sketches(proofs[i].hidden, model.hiddenSize, coeffs),
      nextTokenLogprobs: proofs[i].nextTokenLogprobs,
      reward: scores[i].reward,
      success: scores[i].success,
      advantage: advantages[i],
    })
  );
  return { ok: true, group, seed, rollouts };
}

/**
 * Mines problems 0, 1, … until `shouldContinue` says stop (the role's time budget) or `maxGroups`
 * problems were tried; dropped groups are skipped, as the reference does.
 *
 * @param config The window's pipeline configuration.
 * @param options `maxGroups` to try; `shouldContinue` asked before each problem.
 * @returns The rollouts in file order and the dropped groups.
 * @throws {RangeError} For a bad `maxGroups`.
 *
 * @example
 * ```ts
 * import { mineWindow, type MinerPipelineConfig } from "./miner_pipeline.ts";
 * // A budget that is already spent mines nothing (a real config comes from the miner role).
 * const out = await mineWindow({} as MinerPipelineConfig, {
 *   maxGroups: 4,
 *   shouldContinue: () => false,
 * });
 * if (out.rollouts.length !== 0) throw new Error();
 * ```
 */
export async function mineWindow(
  config: MinerPipelineConfig,
  options: { maxGroups: number; shouldContinue?: () => boolean },
): Promise<{ rollouts: Rollout[]; dropped: Extract<MinedGroup, { ok: false }>[] }> {
  if (!Number.isSafeInteger(options.maxGroups) || options.maxGroups < 0) {
    throw new RangeError(`Invalid maxGroups ${options.maxGroups}: expected an integer ≥ 0`);
  }
  const rollouts: Rollout[] = [];
  const dropped: Extract<MinedGroup, { ok: false }>[] = [];
  for (let g = 0; g < options.maxGroups; g++) {
    if (options.shouldContinue !== undefined && !options.shouldContinue()) break;
    const mined = await mineGroup(config, g);
    if (mined.ok) rollouts.push(...mined.rollouts);
    else dropped.push(mined);
  }
  return { rollouts, dropped };
}

/** Per-row proof outputs that go into a record. */
interface RowProof {
  sketch: Uint32Array;
  nextTokenLogprobs: Float32Array;
  reward: number;
  success: boolean;
  advantage: number;
}

function assembleRollout(
  config: MinerPipelineConfig,
  group: number,
  index: number,
  out: GenerationOutput,
  proof: RowProof,
): Rollout {
  const { window } = config;
  const T = out.tokens.length;
  // token_logprobs: prompt zeros, then log p(tokens[q] | ..q−1) = nextTokenLogprobs[q−1] (spec §4.6).
  const tokenLogprobs = new Array<number>(T).fill(0);
  for (let q = out.promptLength; q < T; q++) tokenLogprobs[q] = proof.nextTokenLogprobs[q - 1];
  const unsigned: Omit<RolloutCommit, "signature"> = {
    tokens: [...out.tokens],
    commitments: Array.from(proof.sketch, (sketch) => ({ sketch })),
    proof_version: GRAIL_PROOF_VERSION,
    model: { name: config.modelName, layer_index: LAYER_INDEX },
    beacon: { randomness: window.randomness },
    rollout: {
      total_reward: proof.reward,
      advantage: proof.advantage,
      success: proof.success,
      token_logprobs: tokenLogprobs,
      prompt_length: out.promptLength,
      completion_length: out.completionLength,
    },
  };
  const commit: RolloutCommit = { ...unsigned, signature: signCommit(unsigned, config.keypair) };
  const nonce = group * ROLLOUTS_PER_PROBLEM + index;
  const challenge = rolloutChallenge(window.blockHash, nonce);
  return {
    window_start: window.windowStart,
    block: window.block,
    nonce,
    block_hash: window.blockHash,
    randomness: window.randomness,
    use_drand: window.useDrand,
    rollout_group: group,
    rollout_index: index,
    total_in_group: ROLLOUTS_PER_PROBLEM,
    checkpoint_window: window.checkpointWindow,
    commit,
    timestamp: config.now(),
    challenge,
    hotkey: config.hotkey,
    signature: signRolloutChallenge(challenge, config.keypair),
  };
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 300);
}
