/**
 * One window of GRPO training (float64 master weights): rollouts in the reference's order
 * (group id, then nonce), batches of `batchSize` rollouts each normalised on its own (DAPO token
 * normalisation per batch) and scaled by 1/`gradAccumSteps`, `gradAccumSteps` batches per
 * optimiser step, advantage clipping per batch,
 * global-norm clipping, AdamW, and the adaptive KL coefficient updated after each step. The
 * frozen reference model of the KL term is the starting model.
 *
 * @module
 */

import type { ModelConfig } from "../model/config.ts";
import { AdamW } from "./adamw.ts";
import { clipGradNorm } from "./adamw.ts";
import { AdaptiveKlController } from "./adaptive_kl.ts";
import { clipAdvantages } from "./grpo_loss.ts";
import {
  type GrpoGradients,
  grpoGradients,
  type GrpoSample,
  type GrpoStepOptions,
} from "./grpo_step.ts";
import type { TrainGroup } from "./groups.ts";
import type { Params } from "./params.ts";

/** Training settings; defaults are the reference's (infra spec §9). */
export interface TrainerHyper {
  /** Learning rate (default 1e-6). */
  lr?: number;
  /** Passes over the window's groups (default 1). */
  epochs?: number;
  /** Rollouts per batch (default 16). */
  batchSize?: number;
  /** Batches per optimiser step (default 8). */
  gradAccumSteps?: number;
  /** Global gradient-norm bound (default 0.5). */
  gradClip?: number;
  /** Entropy bonus γ (default 0.001). */
  entropyCoef?: number;
  /** Adaptive KL (default true; β starts at 0.02, target 0.04). */
  adaptiveKl?: boolean;
  /** Starting β (default 0.02; 0 turns the KL term off). */
  klCoef?: number;
  /** Advantage clip percentile (default 99). */
  advClipPercentile?: number;
  /** AdamW weight decay (default 0.1). */
  weightDecay?: number;
  /** Where gradients are computed (default: the float64 CPU reference). */
  engine?: GradientEngine;
}

/**
 * Computes one batch's GRPO gradient for the current parameters: the float64 CPU reference by
 * default, or another backend (the WebGPU step, `src/gpu/train/gpu_engine.ts`).
 */
export interface GradientEngine {
  /**
   * @param params Current parameters.
   * @param reference Frozen reference, or null (KL off).
   * @param samples The batch.
   * @param options Loss settings (β, γ, the step's token count).
   * @returns Loss statistics and gradients shaped like `params`.
   */
  gradients(
    params: Params,
    reference: Params | null,
    samples: readonly GrpoSample[],
    options: GrpoStepOptions,
  ): Promise<GrpoGradients>;
}

/** What one window of training did. */
export interface WindowTrainingStats {
  /** Optimiser steps taken. */
  steps: number;
  /** Rollouts seen (× epochs). */
  rollouts: number;
  /** Completion tokens seen (× epochs). */
  tokens: number;
  /** Mean loss over steps. */
  meanLoss: number;
  /** Mean KL over steps. */
  meanKl: number;
  /** Mean entropy over steps. */
  meanEntropy: number;
  /** Mean pre-clip gradient norm over steps. */
  meanGradNorm: number;
  /** β after the window. */
  klCoef: number;
}

/**
 * The CPU reference GRPO trainer: policy parameters, frozen reference, AdamW and β.
 *
 * @example
 * ```ts
 * import { CpuGrpoTrainer } from "./cpu_trainer.ts";
 * import { loadParams } from "./params.ts";
 * import { makeTinyModel } from "../model/tiny.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "qwen3", seed: 1, vocabSize: 32, hiddenSize: 16 });
 * const { config, params } = await loadParams(dir);
 * await Deno.remove(dir, { recursive: true });
 * const t = new CpuGrpoTrainer(config, params, { lr: 1e-3, batchSize: 2, gradAccumSteps: 1 });
 * const s = await t.trainWindow([{ groupId: "1", rollouts: [
 *   { tokens: [1, 2, 3], promptLength: 1, completionLength: 2, behaviourLogprobs: [-3, -3],
 *     advantage: 1, reward: 1, nonce: 0 },
 *   { tokens: [1, 4, 5], promptLength: 1, completionLength: 2, behaviourLogprobs: [-3, -3],
 *     advantage: -1, reward: 0, nonce: 1 },
 * ] }]);
 * if (s.steps !== 1 || s.tokens !== 4) throw new Error();
 * ```
 */
export class CpuGrpoTrainer {
  /** The model config. */
  readonly config: ModelConfig;
  /** Trainable parameters (updated in place). */
  readonly params: Params;
  /** Frozen reference of the KL term, or null when β is 0. */
  readonly reference: Params | null;
  /** The optimiser. */
  readonly optimizer: AdamW;
  /** β. */
  readonly kl: AdaptiveKlController;
  readonly #h: Required<Omit<TrainerHyper, "engine">>;
  readonly #engine: GradientEngine;

  /**
   * @param config Model config.
   * @param params Starting parameters (kept and updated in place).
   * @param hyper Settings.
   * @param reference Frozen reference (default: a copy of `params` when β > 0).
   */
  constructor(config: ModelConfig, params: Params, hyper: TrainerHyper = {}, reference?: Params) {
    this.#h = {
      lr: hyper.lr ?? 1e-6,
      epochs: hyper.epochs ?? 1,
      batchSize: hyper.batchSize ?? 16,
      gradAccumSteps: hyper.gradAccumSteps ?? 8,
      gradClip: hyper.gradClip ?? 0.5,
      entropyCoef: hyper.entropyCoef ?? 0.001,
      adaptiveKl: hyper.adaptiveKl ?? true,
      klCoef: hyper.klCoef ?? 0.02,
      advClipPercentile: hyper.advClipPercentile ?? 99,
      weightDecay: hyper.weightDecay ?? 0.1,
    };
    this.config = config;
    this.params = params;
    this.#engine = hyper.engine ?? {
      gradients: (p, r, samples, options) =>
        Promise.resolve(grpoGradients(config, p, r, samples, options)),
    };
    this.reference = this.#h.klCoef > 0
      ? reference ??
        new Map([...params].map(([k, t]) => [k, { shape: [...t.shape], data: t.data.slice() }]))
      : null;
    this.optimizer = new AdamW({ lr: this.#h.lr, weightDecay: this.#h.weightDecay });
    this.kl = new AdaptiveKlController({ initial: this.#h.klCoef });
  }

  /**
   * Trains on one window's groups.
   *
   * @param groups Selected groups (see `selectGroups`).
   * @returns Statistics of the window (once trained).
   * @throws {RangeError} For malformed rollouts; a non-finite gradient norm skips nothing silently:
   *   it throws (the role logs it and keeps the previous weights).
   */
  async trainWindow(groups: readonly TrainGroup[]): Promise<WindowTrainingStats> {
    const h = this.#h;
    const rows = groups
      .flatMap((g) => g.rollouts.map((r) => ({ r, g: g.groupId })))
      .sort((a, b) => (a.g < b.g ? -1 : a.g > b.g ? 1 : a.r.nonce - b.r.nonce))
      .map((x) => x.r);
    let steps = 0, rollouts = 0, tokens = 0, loss = 0, kl = 0, ent = 0, norm = 0;
    for (let epoch = 0; epoch < h.epochs; epoch++) {
      const perStep = h.batchSize * h.gradAccumSteps;
      for (let s0 = 0; s0 < rows.length; s0 += perStep) {
        const stepRows = rows.slice(s0, s0 + perStep);
        const totalTokens = stepRows.reduce((a, r) => a + r.completionLength, 0);
        let grads: Params | null = null;
        let stepLoss = 0, stepKl = 0, stepEnt = 0, lastKl = 0, batches = 0;
        for (let b0 = 0; b0 < stepRows.length; b0 += h.batchSize) {
          const batch = stepRows.slice(b0, b0 + h.batchSize);
          const adv = clipAdvantages(batch.map((r) => r.advantage), h.advClipPercentile);
          const samples: GrpoSample[] = batch.map((r, i) => ({
            tokens: r.tokens,
            promptLength: r.promptLength,
            behaviourLogprobs: r.behaviourLogprobs,
            advantage: adv[i],
          }));
          const g = await this.#engine.gradients(this.params, this.reference, samples, {
            klCoef: this.reference === null ? 0 : this.kl.value,
            entropyCoef: h.entropyCoef,
            // Each batch is normalised on its own and scaled by 1/accumulation steps, as the
            // reference scales every micro-batch loss (a short last step keeps the same scale).
            scale: 1 / h.gradAccumSteps,
          });
          stepLoss += g.loss;
          stepKl += g.meanKl;
          stepEnt += g.meanEntropy;
          lastKl = g.meanKl;
          batches++;
          if (grads === null) grads = g.grads;
          else {
            for (const [name, t] of g.grads) {
              const acc = grads.get(name)!.data;
              for (let i = 0; i < acc.length; i++) acc[i] += t.data[i];
            }
          }
        }
        if (grads === null) continue;
        norm += clipGradNorm(grads, h.gradClip);
        this.optimizer.step(this.params, grads);
        // The reference adapts β to the KL of the batch that completed the step.
        if (h.adaptiveKl && this.reference !== null) this.kl.update(lastKl);
        steps++;
        rollouts += stepRows.length;
        tokens += totalTokens;
        loss += stepLoss;
        kl += stepKl / batches;
        ent += stepEnt / batches;
      }
    }
    const d = Math.max(1, steps);
    return {
      steps,
      rollouts,
      tokens,
      meanLoss: loss / d,
      meanKl: kl / d,
      meanEntropy: ent / d,
      meanGradNorm: norm / d,
      klCoef: this.kl.value,
    };
  }
}
