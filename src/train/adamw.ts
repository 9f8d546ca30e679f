/**
 * AdamW and global-norm gradient clipping with PyTorch's exact update rules
 * (`torch.optim.AdamW`, `torch.nn.utils.clip_grad_norm_`), over {@link Params}. Reference
 * settings (infra spec §9): betas 0.9/0.95, weight decay 0.1, grad clip 0.5.
 *
 * @module
 */

import type { Params } from "./params.ts";

/** AdamW hyper-parameters. */
export interface AdamWOptions {
  /** Learning rate (reference 1e-6). */
  lr: number;
  /** β1 (default 0.9). */
  beta1?: number;
  /** β2 (default 0.95, the reference's). */
  beta2?: number;
  /** ε (default 1e-8, torch's). */
  eps?: number;
  /** Decoupled weight decay (default 0.1, the reference's). */
  weightDecay?: number;
}

/**
 * AdamW state: first and second moments per tensor and the step count.
 *
 * @example One step moves each weight against its gradient by about lr
 * ```ts
 * import { AdamW } from "./adamw.ts";
 * import type { Params } from "./params.ts";
 * const p: Params = new Map([["w", { shape: [2], data: new Float64Array([1, 1]) }]]);
 * const g: Params = new Map([["w", { shape: [2], data: new Float64Array([3, -3]) }]]);
 * new AdamW({ lr: 0.1, weightDecay: 0 }).step(p, g);
 * const [a, b] = p.get("w")!.data;
 * if (Math.abs(a - 0.9) > 1e-6 || Math.abs(b - 1.1) > 1e-6) throw new Error();
 * ```
 */
export class AdamW {
  /** Settings in use. */
  readonly options: Required<AdamWOptions>;
  /** Steps taken. */
  stepCount = 0;
  /** First moments by tensor name. */
  readonly m: Map<string, Float64Array> = new Map();
  /** Second moments by tensor name. */
  readonly v: Map<string, Float64Array> = new Map();

  /** @param options Hyper-parameters. */
  constructor(options: AdamWOptions) {
    if (!(options.lr >= 0) || !Number.isFinite(options.lr)) {
      throw new RangeError(`Invalid lr: got ${options.lr}, expected a finite number ≥ 0`);
    }
    this.options = {
      lr: options.lr,
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.95,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0.1,
    };
  }

  /**
   * One update of every tensor that has a gradient (torch's order: decay, moments, bias-corrected
   * step).
   *
   * @param params Updated in place.
   * @param grads Same names and sizes as `params`.
   * @param lr Learning rate of this step (default `options.lr`, for schedules).
   * @throws {RangeError} When a gradient's size differs from its tensor's.
   */
  step(params: Params, grads: Params, lr: number = this.options.lr): void {
    const { beta1, beta2, eps, weightDecay } = this.options;
    this.stepCount++;
    const bc1 = 1 - beta1 ** this.stepCount;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.stepCount);
    const stepSize = lr / bc1;
    for (const [name, t] of params) {
      const g = grads.get(name);
      if (g === undefined) continue;
      if (g.data.length !== t.data.length) {
        throw new RangeError(
          `Invalid gradient of ${name}: ${g.data.length} values, expected ${t.data.length}`,
        );
      }
      let m = this.m.get(name), v = this.v.get(name);
      if (m === undefined || v === undefined) {
        m = new Float64Array(t.data.length);
        v = new Float64Array(t.data.length);
        this.m.set(name, m);
        this.v.set(name, v);
      }
      const x = t.data, gd = g.data;
      const decay = 1 - lr * weightDecay;
      for (let i = 0; i < x.length; i++) {
        x[i] *= decay;
        m[i] = beta1 * m[i] + (1 - beta1) * gd[i];
        v[i] = beta2 * v[i] + (1 - beta2) * gd[i] * gd[i];
        x[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / bc2Sqrt + eps);
      }
    }
  }
}

/**
 * Scales all gradients so their global L2 norm is at most `maxNorm` (torch's
 * `clip_grad_norm_`: coefficient maxNorm / (norm + 1e-6), applied only when below 1).
 *
 * @param grads Updated in place.
 * @param maxNorm The bound (reference 0.5).
 * @returns The norm before clipping.
 * @throws {RangeError} For a non-positive bound or a non-finite norm.
 *
 * @example
 * ```ts
 * import { clipGradNorm } from "./adamw.ts";
 * import type { Params } from "./params.ts";
 * const g: Params = new Map([["w", { shape: [2], data: new Float64Array([3, 4]) }]]);
 * const norm = clipGradNorm(g, 1);
 * if (norm !== 5 || Math.abs(g.get("w")!.data[0] - 0.6) > 1e-6) throw new Error();
 * ```
 */
export function clipGradNorm(grads: Params, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`Invalid maxNorm: got ${maxNorm}, expected > 0`);
  let ss = 0;
  for (const t of grads.values()) for (const g of t.data) ss += g * g;
  const norm = Math.sqrt(ss);
  if (!Number.isFinite(norm)) {
    throw new RangeError(`Invalid gradients: non-finite global norm ${norm}; skip this step`);
  }
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const t of grads.values()) for (let i = 0; i < t.data.length; i++) t.data[i] *= coef;
  }
  return norm;
}
