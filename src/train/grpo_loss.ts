/**
 * The GRPO objective of the reference trainer (infra spec §9 "Loss"), in float64, with its
 * gradient with respect to each completion token's current log-prob and entropy (the model
 * backward takes it from there).
 *
 * For a batch of B sequences, sequence i with n_i completion tokens, N = Σ n_i:
 * - log-ratio r_i = (Σ_t lp_cur − Σ_t lp_old) / n_i (GSPO-style geometric mean), clamped to ±5;
 *   ρ_i = min(exp(r_i), 10);
 * - token loss ℓ_i = −min(ρ_i·A_i, clip(ρ_i, 0.8, 1.28)·A_i), the same for each of its tokens;
 * - DAPO aggregation (token-level normalisation): L_pg = Σ_i n_i·ℓ_i / N;
 * - KL to the frozen reference: L_kl = β · Σ_{i,t} ½(lp_cur − lp_ref)² / N;
 * - entropy bonus: L_ent = −γ · (1/B) Σ_i (1/n_i) Σ_t H_{i,t} (the reference's `compute_entropy`
 *   mean per sequence, then over the batch; `entropyMean: "token"` gives −γ · Σ_{i,t} H / N);
 * - the whole batch loss times `scale` (the reference divides each batch's loss by its
 *   gradient-accumulation steps).
 *
 * Derivatives follow PyTorch's conventions exactly where the loss has kinks: `clamp` passes the
 * gradient on its closed interval, `minimum` splits it in halves at a tie. So at a clamp or
 * ceiling boundary the gradient is the one PyTorch reports.
 *
 * @module
 */

/** Loss settings; defaults are the reference's. */
export interface GrpoLossOptions {
  /** PPO lower clip ε (default 0.2: ratio floor 0.8). */
  clipEpsLow?: number;
  /** PPO upper clip ε (default 0.28: ratio ceiling 1.28). */
  clipEpsHigh?: number;
  /** |log-ratio| clamp (default 5). */
  logRatioClamp?: number;
  /** Hard ceiling of the importance ratio (default 10; 0 disables). */
  ratioMax?: number;
  /** KL coefficient β (default 0.02; 0 disables the KL term). */
  klCoef?: number;
  /** Entropy coefficient γ (default 0.001). */
  entropyCoef?: number;
  /** How entropies are averaged (default "sequence", the reference's; or "token"). */
  entropyMean?: "sequence" | "token";
  /** Factor on the loss and its gradient (default 1; the trainer passes 1 / grad-accum steps). */
  scale?: number;
  /**
   * N and B of the whole batch when the loss is evaluated a few sequences at a time (default:
   * those of `sequences`). Every term is a sum over sequences once N and B are fixed, so the
   * parts add up to the batch's loss and gradient exactly.
   */
  batch?: { tokens: number; sequences: number };
}

/** One sequence's completion-token values. */
export interface GrpoSequence {
  /** Current policy log-probs of the completion tokens (n). */
  lpCur: ArrayLike<number>;
  /** Behaviour (miner-reported) log-probs of the same tokens (n). */
  lpOld: ArrayLike<number>;
  /** Reference-model log-probs (n), or null when the KL term is off. */
  lpRef: ArrayLike<number> | null;
  /** Entropy of the current next-token distribution at each completion position (n). */
  entropy: ArrayLike<number>;
  /** The (already clipped) advantage. */
  advantage: number;
}

/** Loss value, its parts and its gradient. */
export interface GrpoLossResult {
  /** L = scale · (L_pg + L_kl + L_ent). */
  loss: number;
  /** L_pg. */
  policyLoss: number;
  /** L_kl (already multiplied by β). */
  klLoss: number;
  /** L_ent (already multiplied by −γ). */
  entropyLoss: number;
  /** Σ ½(lp_cur − lp_ref)² / N (unscaled): the KL the adaptive controller observes (0 when off). */
  meanKl: number;
  /** Mean entropy as the loss averages it (unscaled). */
  meanEntropy: number;
  /** Fraction of sequences whose ratio left [1 − ε_low, 1 + ε_high]. */
  clipFraction: number;
  /** ∂L/∂lp_cur per sequence and token. */
  dLpCur: Float64Array[];
  /** ∂L/∂H per sequence and token. */
  dEntropy: Float64Array[];
}

/**
 * Computes the GRPO loss and its gradient with respect to log-probs and entropies.
 *
 * @param sequences The batch (every sequence needs ≥ 1 completion token).
 * @param options Coefficients (reference defaults).
 * @returns Loss, parts, statistics and gradients.
 * @throws {RangeError} For mismatched lengths, an empty completion or a non-finite value.
 *
 * @example Ratio 1 and advantage 1: the loss is −1 per token
 * ```ts
 * import { grpoLoss } from "./grpo_loss.ts";
 * const r = grpoLoss([{ lpCur: [-1, -2], lpOld: [-1, -2], lpRef: null, entropy: [0, 0],
 *   advantage: 1 }], { klCoef: 0 });
 * if (r.loss !== -1 || r.dLpCur[0][0] !== -0.5) throw new Error();
 * ```
 */
export function grpoLoss(
  sequences: readonly GrpoSequence[],
  options: GrpoLossOptions = {},
): GrpoLossResult {
  const lo = 1 - (options.clipEpsLow ?? 0.2);
  const hi = 1 + (options.clipEpsHigh ?? 0.28);
  const clampAt = options.logRatioClamp ?? 5;
  const ratioMax = options.ratioMax ?? 10;
  const beta = options.klCoef ?? 0.02;
  const gamma = options.entropyCoef ?? 0.001;
  let tokens = 0;
  sequences.forEach((s, i) => {
    const n = s.lpCur.length;
    if (n === 0) throw new RangeError(`Invalid sequences[${i}]: no completion tokens`);
    for (const [name, arr] of [["lpOld", s.lpOld], ["entropy", s.entropy], ["lpRef", s.lpRef]]) {
      if (arr !== null && (arr as ArrayLike<number>).length !== n) {
        throw new RangeError(
          `Invalid sequences[${i}].${name}: length ${
            (arr as ArrayLike<number>).length
          }, expected ${n} (lpCur's length)`,
        );
      }
    }
    if (!Number.isFinite(s.advantage)) {
      throw new RangeError(`Invalid sequences[${i}].advantage: got ${s.advantage}`);
    }
    tokens += n;
  });
  const N = options.batch?.tokens ?? tokens;
  const B = options.batch?.sequences ?? sequences.length;
  if (options.batch !== undefined && !(N >= tokens && B >= sequences.length)) {
    throw new RangeError(
      `Invalid batch: ${N} tokens and ${B} sequences, fewer than the ${tokens} tokens and ${sequences.length} sequences given`,
    );
  }
  const scale = options.scale ?? 1;
  const perSequence = (options.entropyMean ?? "sequence") === "sequence";
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new RangeError(`Invalid scale: got ${scale}, expected a finite number > 0`);
  }
  let pg = 0, kl = 0, ent = 0, clipped = 0;
  const dLpCur: Float64Array[] = [];
  const dEntropy: Float64Array[] = [];
  sequences.forEach((s, i) => {
    const n = s.lpCur.length;
    let sumCur = 0, sumOld = 0;
    for (let t = 0; t < n; t++) {
      sumCur += s.lpCur[t];
      sumOld += s.lpOld[t];
    }
    const logRatio = (sumCur - sumOld) / n;
    if (!Number.isFinite(logRatio)) {
      throw new RangeError(`Invalid sequences[${i}]: non-finite log-ratio ${logRatio}`);
    }
    const r = Math.min(clampAt, Math.max(-clampAt, logRatio));
    const dRdLog = logRatio >= -clampAt && logRatio <= clampAt ? 1 : 0;
    const e = Math.exp(r);
    const rho = ratioMax > 0 ? Math.min(e, ratioMax) : e;
    const dRhoDr = ratioMax > 0 && e > ratioMax ? 0 : e;
    const rhoClip = Math.min(hi, Math.max(lo, rho));
    const inRange = rho >= lo && rho <= hi ? 1 : 0;
    if (!inRange) clipped++;
    const A = s.advantage;
    const u = rho * A, c = rhoClip * A;
    // ∂min(u, c)/∂ρ with torch.minimum's tie rule (half to each side).
    const dMin = u < c ? A : u > c ? A * inRange : 0.5 * A + 0.5 * A * inRange;
    pg += -Math.min(u, c) * n;
    // ∂(n·ℓ)/∂lp_cur,t: the n tokens sharing ℓ cancel the 1/n of the mean log-ratio.
    const gSeq = -dMin * dRhoDr * dRdLog;
    const d = new Float64Array(n);
    const dh = new Float64Array(n);
    // ∂(mean entropy)/∂H_t: 1/(B·n_i) per sequence, or 1/N per token.
    const entWeight = perSequence ? 1 / (B * n) : 1 / N;
    for (let t = 0; t < n; t++) {
      let g = gSeq / N;
      if (beta !== 0 && s.lpRef !== null) {
        const diff = s.lpCur[t] - s.lpRef[t];
        kl += 0.5 * diff * diff;
        g += beta * diff / N;
      }
      ent += s.entropy[t] * entWeight;
      d[t] = g * scale;
      dh[t] = -gamma * entWeight * scale;
    }
    dLpCur.push(d);
    dEntropy.push(dh);
  });
  const policyLoss = scale * pg / N;
  const klLoss = scale * beta * kl / N;
  const entropyLoss = -scale * gamma * ent;
  return {
    loss: policyLoss + klLoss + entropyLoss,
    policyLoss,
    klLoss,
    entropyLoss,
    meanKl: kl / N,
    meanEntropy: ent,
    clipFraction: sequences.length === 0 ? 0 : clipped / sequences.length,
    dLpCur,
    dEntropy,
  };
}

/**
 * Clips advantages to ±q-quantile of |A| (torch.quantile's linear interpolation), as the
 * reference does before the loss (99th percentile, no re-standardisation).
 *
 * @param advantages The batch's advantages.
 * @param percentile In (0, 100); 0 or 100 leaves them unchanged (as the reference).
 * @returns Clipped copies.
 *
 * @example
 * ```ts
 * import { clipAdvantages } from "./grpo_loss.ts";
 * const a = clipAdvantages([1, -2, 3, 100], 50);
 * if (a[3] !== 2.5 || a[1] !== -2) throw new Error();
 * ```
 */
export function clipAdvantages(advantages: readonly number[], percentile = 99): number[] {
  const q = Math.max(0, Math.min(100, percentile)) / 100;
  if (!(q > 0 && q < 1) || advantages.length === 0) return [...advantages];
  const abs = advantages.map(Math.abs).sort((a, b) => a - b);
  const pos = q * (abs.length - 1);
  const i = Math.floor(pos);
  const frac = pos - i;
  const v = i + 1 < abs.length ? abs[i] + frac * (abs[i + 1] - abs[i]) : abs[i];
  return advantages.map((a) => Math.min(v, Math.max(-v, a)));
}
