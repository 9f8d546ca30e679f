/**
 * One GRPO gradient computation on the CPU reference: policy and reference forwards, the loss of
 * `grpo_loss.ts`, and the backward of every sequence (with recomputation), in float64.
 *
 * @module
 */

import type { ModelConfig } from "../model/config.ts";
import {
  policyBackward,
  policyForward,
  type TrainForwardOptions,
  type TrainSequence,
} from "./cpu_backward.ts";
import { grpoLoss, type GrpoLossOptions, type GrpoLossResult } from "./grpo_loss.ts";
import { type Params, zeroParams } from "./params.ts";

/** A rollout as the trainer uses it. */
export interface GrpoSample extends TrainSequence {
  /** Behaviour log-probs of the completion tokens (n = T − P), as the miner reported them. */
  behaviourLogprobs: ArrayLike<number>;
  /** Group advantage (already clipped, see `clipAdvantages`). */
  advantage: number;
}

/** Options of {@link grpoGradients}. */
export interface GrpoStepOptions extends GrpoLossOptions, TrainForwardOptions {
  /**
   * Reference log-probs per sample, already computed (e.g. by the frozen model on another
   * device, or fixed test inputs); used instead of running `reference`.
   */
  referenceLogprobs?: readonly ArrayLike<number>[];
}

/** Loss statistics and the gradient of one batch. */
export interface GrpoGradients extends Omit<GrpoLossResult, "dLpCur" | "dEntropy"> {
  /** ∂L/∂θ, shaped like the parameters. */
  grads: Params;
  /** Current log-probs per sample (what the loss saw). */
  logprobs: Float64Array[];
}

/**
 * Computes the GRPO loss of a batch and its gradient with respect to every parameter.
 *
 * @param config The model config.
 * @param policy Trainable parameters.
 * @param reference Frozen reference parameters for the KL term, or null (KL off unless
 *   `options.referenceLogprobs` gives the values).
 * @param samples The batch.
 * @param options Loss settings.
 * @returns Loss, statistics and gradients.
 * @throws {RangeError} For malformed samples.
 *
 * @example
 * ```ts
 * import { grpoGradients } from "./grpo_step.ts";
 * import { loadParams } from "./params.ts";
 * import { makeTinyModel } from "../model/tiny.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "qwen3", seed: 1, vocabSize: 32, hiddenSize: 16 });
 * const { config, params } = await loadParams(dir);
 * await Deno.remove(dir, { recursive: true });
 * const r = grpoGradients(config, params, null, [
 *   { tokens: [1, 2, 3], promptLength: 1, behaviourLogprobs: [-3, -3], advantage: 1 },
 * ], { klCoef: 0 });
 * if (!Number.isFinite(r.loss) || r.grads.size === 0) throw new Error();
 * ```
 */
export function grpoGradients(
  config: ModelConfig,
  policy: Params,
  reference: Params | null,
  samples: readonly GrpoSample[],
  options: GrpoStepOptions = {},
): GrpoGradients {
  const { referenceLogprobs, ropeRoundTo, ...lossOptions } = options;
  const fwd: TrainForwardOptions = { ropeRoundTo };
  if (referenceLogprobs !== undefined && referenceLogprobs.length !== samples.length) {
    throw new RangeError(
      `Invalid referenceLogprobs: ${referenceLogprobs.length} entries, expected ${samples.length} (one per sample)`,
    );
  }
  const cur = samples.map((s) => policyForward(config, policy, s, fwd));
  const ref = referenceLogprobs ??
    (reference === null
      ? null
      : samples.map((s) => policyForward(config, reference, s, fwd).logprobs));
  const loss = grpoLoss(
    samples.map((s, i) => ({
      lpCur: cur[i].logprobs,
      lpOld: s.behaviourLogprobs,
      lpRef: ref === null ? null : ref[i],
      entropy: cur[i].entropy,
      advantage: s.advantage,
    })),
    ref === null ? { ...lossOptions, klCoef: 0 } : lossOptions,
  );
  const grads = zeroParams(config);
  samples.forEach((s, i) => {
    policyBackward(config, policy, s, loss.dLpCur[i], loss.dEntropy[i], grads, fwd);
  });
  const { dLpCur: _d, dEntropy: _h, ...stats } = loss;
  return { ...stats, grads, logprobs: cur.map((c) => c.logprobs) };
}
