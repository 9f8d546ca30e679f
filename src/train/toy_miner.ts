/**
 * A miner for the toy environment (`toy_env.ts`), used by the learning demonstration and the
 * trainer tests: it samples GRPO groups from the checkpoint the trainer published, scores them,
 * and writes a window file whose rows carry real GRAIL commitments (sketches of the proof
 * forward's hidden states, signed commit binding and challenge), exactly as the production
 * miner assembles them — only the environment differs.
 *
 * @module
 */

import { generateGroup } from "../model/generate.ts";
import type { Model } from "../model/model.ts";
import type { UniformSource } from "../model/sampling.ts";
import { sketchCoefficients } from "../protocol/coefficients.ts";
import { GRAIL_PROOF_VERSION, LAYER_INDEX, ROLLOUTS_PER_PROBLEM } from "../protocol/constants.ts";
import type { Rollout, RolloutCommit } from "../protocol/rollout.ts";
import {
  rolloutChallenge,
  signCommit,
  signRolloutChallenge,
  type Sr25519Keypair,
} from "../protocol/signature.ts";
import { sketches } from "../protocol/sketch.ts";
import { computeAdvantages } from "../validation/advantages.ts";
import { type DigitTokens, toyPrompt, toyReward } from "./toy_env.ts";

/** What one toy window needs. */
export interface ToyMinerWindow {
  /** The loaded checkpoint's model. */
  model: Model;
  /** `commit.model.name`. */
  modelName: string;
  /** Checkpoint window in use. */
  checkpointWindow: number;
  /** Window start. */
  windowStart: number;
  /** Block hash of the window start (0x + 64 hex). */
  blockHash: string;
  /** Window randomness (hex). */
  randomness: string;
  /** Miner hotkey and key pair. */
  hotkey: string;
  /** Its key pair. */
  keypair: Sr25519Keypair;
  /** Digit token ids. */
  digits: DigitTokens;
  /** Problems (groups) to mine. */
  problems: number[];
  /** Completion tokens per rollout. */
  completionTokens: number;
  /** Sampling temperature. */
  temperature: number;
  /** Seeded sampling. */
  rng: UniformSource;
  /** Unix seconds for the informational timestamp. */
  now: number;
}

/**
 * Mines the toy problems: 16 rollouts per problem with proofs and signatures.
 *
 * @param w The window's settings.
 * @returns Rows in file order (group, then index).
 *
 * @example
 * ```ts ignore
 * const rollouts = await mineToyWindow({ model, modelName, ... });
 * ```
 */
export async function mineToyWindow(w: ToyMinerWindow): Promise<Rollout[]> {
  const out: Rollout[] = [];
  const coeffs = sketchCoefficients(w.randomness);
  for (const problem of w.problems) {
    const prompt = toyPrompt(problem, w.digits);
    const rows = await generateGroup(
      w.model,
      prompt,
      {
        maxNewTokens: w.completionTokens,
        temperature: w.temperature,
        topP: 1,
        topK: 0,
        repetitionPenalty: 1,
        eosTokenIds: [],
      },
      w.rng,
      ROLLOUTS_PER_PROBLEM,
    );
    const proofs = await w.model.proofForward(rows.map((r) => r.tokens));
    const scores = rows.map((r) => toyReward(problem, r.tokens.slice(r.promptLength), w.digits));
    const adv = computeAdvantages(scores.map((s) => s.reward));
    rows.forEach((r, i) => {
      const T = r.tokens.length;
      const tokenLogprobs = new Array<number>(T).fill(0);
      for (let q = r.promptLength; q < T; q++) {
        tokenLogprobs[q] = proofs[i].nextTokenLogprobs[q - 1];
      }
      const unsigned: Omit<RolloutCommit, "signature"> = {
        tokens: [...r.tokens],
        commitments: Array.from(
          sketches(proofs[i].hidden, w.model.hiddenSize, coeffs),
          (sketch) => ({ sketch }),
        ),
        proof_version: GRAIL_PROOF_VERSION,
        model: { name: w.modelName, layer_index: LAYER_INDEX },
        beacon: { randomness: w.randomness },
        rollout: {
          total_reward: scores[i].reward,
          advantage: adv[i],
          success: scores[i].success,
          token_logprobs: tokenLogprobs,
          prompt_length: r.promptLength,
          completion_length: r.completionLength,
        },
      };
      const nonce = problem * ROLLOUTS_PER_PROBLEM + i;
      const challenge = rolloutChallenge(w.blockHash, nonce);
      out.push({
        window_start: w.windowStart,
        block: w.windowStart,
        nonce,
        block_hash: w.blockHash,
        randomness: w.randomness,
        use_drand: false,
        rollout_group: problem,
        rollout_index: i,
        total_in_group: ROLLOUTS_PER_PROBLEM,
        checkpoint_window: w.checkpointWindow,
        commit: { ...unsigned, signature: signCommit(unsigned, w.keypair) },
        timestamp: w.now,
        challenge,
        hotkey: w.hotkey,
        signature: signRolloutChallenge(challenge, w.keypair),
      });
    });
  }
  return out;
}
