/**
 * The reference's adaptive KL coefficient (infra spec §9): after each optimiser step the
 * coefficient is multiplied by the rate when the observed KL exceeds 1.2·target and divided by it
 * below 0.8·target, then clamped.
 *
 * @module
 */

/** Controller settings; defaults are the reference's. */
export interface AdaptiveKlOptions {
  /** Starting β (default 0.02). */
  initial?: number;
  /** Target KL (default 0.04). */
  target?: number;
  /** Floor (default 0.001). */
  min?: number;
  /** Ceiling (default 0.2). */
  max?: number;
  /** Multiplicative step (default 1.5). */
  rate?: number;
}

/**
 * Stateful β; `value` persists across windows (save it with the trainer state).
 *
 * @example
 * ```ts
 * import { AdaptiveKlController } from "./adaptive_kl.ts";
 * const kl = new AdaptiveKlController();
 * kl.update(1); // far above target: β grows by 1.5
 * if (Math.abs(kl.value - 0.03) > 1e-15) throw new Error();
 * ```
 */
export class AdaptiveKlController {
  /** The current coefficient. */
  value: number;
  readonly #target: number;
  readonly #min: number;
  readonly #max: number;
  readonly #rate: number;

  /** @param options Settings (reference defaults). */
  constructor(options: AdaptiveKlOptions = {}) {
    this.value = options.initial ?? 0.02;
    this.#target = options.target ?? 0.04;
    this.#min = options.min ?? 0.001;
    this.#max = options.max ?? 0.2;
    this.#rate = options.rate ?? 1.5;
  }

  /**
   * Adapts β to the KL observed in the last step; a non-finite KL leaves it unchanged (as the
   * reference, which ignores what it cannot convert).
   *
   * @param observedKl Mean ½(lp_cur − lp_ref)² of the step.
   * @returns The new β.
   */
  update(observedKl: number): number {
    if (!Number.isFinite(observedKl)) return this.value;
    if (observedKl > this.#target * 1.2) {
      this.value = Math.min(this.#max, this.value * this.#rate);
    } else if (observedKl < this.#target * 0.8) {
      this.value = Math.max(this.#min, this.value / this.#rate);
    }
    return this.value;
  }
}
