/**
 * The WebGPU training step as the trainer's gradient engine: the role keeps its float64 master
 * weights, AdamW and clipping (`CpuGrpoTrainer`), and each batch's forward, loss statistics and
 * backward run on the GPU (`GpuGrpoTrainer`), the weights uploaded before and the gradients read
 * back after. The frozen reference model's log-probs come from a second GPU instance.
 *
 * @module
 */

import type { GpuContext } from "../context.ts";
import type { ModelConfig } from "../../model/config.ts";
import type { GradientEngine } from "../../train/cpu_trainer.ts";
import type { GrpoGradients, GrpoSample, GrpoStepOptions } from "../../train/grpo_step.ts";
import type { Params } from "../../train/params.ts";
import { GpuGrpoTrainer } from "./gpu_trainer.ts";

/**
 * A {@link GradientEngine} on WebGPU for sequences of up to `maxLenTokens` tokens.
 *
 * @example
 * ```ts ignore
 * const engine = await GpuGradientEngine.create(ctx, config, params, reference, 512);
 * const trainer = new CpuGrpoTrainer(config, params, { engine }, reference);
 * ```
 */
export class GpuGradientEngine implements GradientEngine {
  readonly #policy: GpuGrpoTrainer;
  readonly #reference: GpuGrpoTrainer | null;

  private constructor(policy: GpuGrpoTrainer, reference: GpuGrpoTrainer | null) {
    this.#policy = policy;
    this.#reference = reference;
  }

  /**
   * Uploads the model (and the reference, when given) and binds the step.
   *
   * @param ctx The device.
   * @param config The model config.
   * @param params Starting parameters.
   * @param reference Frozen reference parameters, or null.
   * @param maxLenTokens Longest sequence (prompt + completion).
   * @param ropeRoundTo RoPE frequency precision (default "bfloat16").
   * @returns The engine.
   */
  static async create(
    ctx: GpuContext,
    config: ModelConfig,
    params: Params,
    reference: Params | null,
    maxLenTokens: number,
    ropeRoundTo?: "bfloat16" | "float32",
  ): Promise<GpuGradientEngine> {
    const policy = await GpuGrpoTrainer.create(ctx, config, params, { maxLenTokens, ropeRoundTo });
    const ref = reference === null
      ? null
      : await GpuGrpoTrainer.create(ctx, config, reference, { maxLenTokens, ropeRoundTo });
    return new GpuGradientEngine(policy, ref);
  }

  /**
   * One batch's gradient on the GPU.
   *
   * @param params Current parameters (uploaded first).
   * @param reference Whether the KL term is on (its weights were uploaded at creation).
   * @param samples The batch.
   * @param options Loss settings; `referenceLogprobs` wins over the reference instance.
   * @returns Loss statistics and float64 copies of the f32 gradients.
   */
  async gradients(
    params: Params,
    reference: Params | null,
    samples: readonly GrpoSample[],
    options: GrpoStepOptions,
  ): Promise<GrpoGradients> {
    this.#policy.writeParams(params);
    let refLogprobs: ArrayLike<number>[] | null = options.referenceLogprobs
      ? [...options.referenceLogprobs]
      : null;
    if (refLogprobs === null && reference !== null && this.#reference !== null) {
      refLogprobs = [];
      for (const s of samples) {
        refLogprobs.push((await this.#reference.completionStats(s)).logprobs);
      }
    }
    const { referenceLogprobs: _r, ropeRoundTo: _o, ...lossOptions } = options;
    const r = await this.#policy.gradients(samples, refLogprobs, lossOptions);
    const grads: Params = new Map();
    for (const [name, t] of params) {
      grads.set(name, {
        shape: [...t.shape],
        data: Float64Array.from(await this.#policy.readGrad(name)),
      });
    }
    const { tokens: _t, ...stats } = r;
    return { ...stats, grads };
  }
}
