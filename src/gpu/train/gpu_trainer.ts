/**
 * The GRPO training step on WebGPU (f32): the same computation as the float64 CPU reference
 * (`src/train/grpo_step.ts`) with the kernels of `backward_kernels.ts`, for sequences padded to a
 * fixed length T (memory and bind groups are sized once, from the config and T).
 *
 * A step runs in three phases. (1) Statistics: the forward of every sequence gives each
 * completion token's log-prob and entropy (read back). (2) The host computes the GRPO loss and
 * ∂L/∂lp, ∂L/∂H (`grpo_loss.ts`). (3) Gradients: one sequence at a time (micro-batches of one),
 * the forward is recomputed with its activations kept (activation recomputation: only one
 * sequence's activations are ever alive) and the backward accumulates into the gradient buffers.
 * Then the global gradient norm (per-tensor partial sums added on the host in float64, in a
 * fixed order) gives the clip coefficient, which AdamW folds into its update.
 *
 * Padding is exact: attention is causal, so positions after a sequence's end change nothing
 * before it, and their log-prob gradients are zero, so they add exactly zero to every gradient.
 *
 * Dimension legend: T positions (padded), C hidden, V vocab, L layers, NH/NKV heads, HS head size,
 * FF MLP width, QD = NH·HS, KVD = NKV·HS.
 *
 * @module
 */

import { type Dispatch, encodeDispatch, type GpuContext } from "../context.ts";
import type { ModelConfig } from "../../model/config.ts";
import { ropeInverseFrequencies, ropeTable } from "../../model/rope.ts";
import { grpoLoss, type GrpoLossOptions, type GrpoLossResult } from "../../train/grpo_loss.ts";
import type { GrpoSample } from "../../train/grpo_step.ts";
import type { Params } from "../../train/params.ts";
import type { CompletionStats } from "../../train/cpu_backward.ts";
import { BackwardKernels, groupTokens, SUMSQ_CHUNK, updateAdamW } from "./backward_kernels.ts";
import type { BoundKernel } from "./_kernel.ts";

/** A copy between two encoded passes (the residual stream's skip connections). */
interface Copy {
  src: GPUBuffer;
  dst: GPUBuffer;
  sizeBytes: number;
}
type Step = Dispatch | Copy;

/** Loss statistics of a GPU gradient computation. */
export interface GpuStepStats extends Omit<GrpoLossResult, "dLpCur" | "dEntropy"> {
  /** Completion tokens of the batch. */
  tokens: number;
  /** Current log-probs per sample (f32 results widened). */
  logprobs: Float64Array[];
}

/** Settings of {@link GpuGrpoTrainer}. */
export interface GpuTrainerOptions {
  /** T: every sequence is padded to this length. */
  maxLenTokens: number;
  /** RoPE frequency precision (see `TrainForwardOptions`; default "bfloat16"). */
  ropeRoundTo?: "bfloat16" | "float32";
  /** AdamW: lr (default 1e-6), betas (0.9, 0.95), eps 1e-8, weight decay 0.1. */
  lr?: number;
  /** AdamW β1. */
  beta1?: number;
  /** AdamW β2. */
  beta2?: number;
  /** AdamW ε. */
  eps?: number;
  /** AdamW weight decay. */
  weightDecay?: number;
  /** Global gradient-norm bound (default 0.5). */
  gradClip?: number;
}

interface SequenceInputs {
  tokens: GPUBuffer;
  targets: GPUBuffer;
  dlp: GPUBuffer;
  dh: GPUBuffer;
  rows: GPUBuffer;
  starts: GPUBuffer;
  positions: GPUBuffer;
  stats: GPUBuffer;
}

interface TensorBufs {
  w: GPUBuffer;
  g: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  partials: GPUBuffer;
  n: number;
  adamw: BoundKernel;
  sumsq: Dispatch;
}

/**
 * Parameters, gradients and AdamW moments of one model on the GPU, with the training step bound
 * for sequences of up to T tokens. Owns its buffers through the context (freed with it).
 *
 * @example
 * ```ts ignore
 * const t = await GpuGrpoTrainer.create(ctx, config, params, { maxLenTokens: 64, lr: 1e-5 });
 * const stats = await t.step(samples, null, { klCoef: 0 });
 * ```
 */
export class GpuGrpoTrainer {
  /** The model config. */
  readonly config: ModelConfig;
  /** T. */
  readonly maxLenTokens: number;
  /** AdamW steps taken. */
  stepCount = 0;
  readonly #ctx: GpuContext;
  readonly #opt: Required<Omit<GpuTrainerOptions, "maxLenTokens" | "ropeRoundTo">>;
  readonly #tensors: Map<string, TensorBufs>;
  readonly #inputs: {
    tokens: GPUBuffer;
    targets: GPUBuffer;
    dlp: GPUBuffer;
    dh: GPUBuffer;
    rows: GPUBuffer;
    starts: GPUBuffer;
    positions: GPUBuffer;
    stats: GPUBuffer;
  };
  readonly #forward: Step[];
  readonly #backward: Step[];
  // The log-prob/entropy pass, encoded again before a backward with the real ∂L/∂lp, ∂L/∂H.
  readonly #logprob: Dispatch;

  private constructor(
    ctx: GpuContext,
    config: ModelConfig,
    T: number,
    opt: Required<Omit<GpuTrainerOptions, "maxLenTokens" | "ropeRoundTo">>,
    tensors: Map<string, TensorBufs>,
    inputs: SequenceInputs,
    forward: Step[],
    backward: Step[],
    logprob: Dispatch,
  ) {
    this.#ctx = ctx;
    this.config = config;
    this.maxLenTokens = T;
    this.#opt = opt;
    this.#tensors = tensors;
    this.#inputs = inputs;
    this.#forward = forward;
    this.#backward = backward;
    this.#logprob = logprob;
  }

  /**
   * Uploads the parameters (as f32) and binds the whole step for length T.
   *
   * @param ctx The device.
   * @param config The model config.
   * @param params Parameters (HF names).
   * @param options T and optimiser settings.
   * @returns The trainer.
   * @throws {RangeError} For a bad T or missing parameters; GpuError for limits.
   */
  static async create(
    ctx: GpuContext,
    config: ModelConfig,
    params: Params,
    options: GpuTrainerOptions,
  ): Promise<GpuGrpoTrainer> {
    const T = options.maxLenTokens;
    if (!Number.isInteger(T) || T < 2) {
      throw new RangeError(`Invalid maxLenTokens: got ${T}, expected an integer ≥ 2`);
    }
    const k = await BackwardKernels.create(ctx);
    const { hiddenSize: C, intermediateSize: FF, numHeads: NH, numKvHeads: NKV, headDim: HS } =
      config;
    const V = config.vocabSize, L = config.numLayers, eps = config.rmsNormEps;
    const QD = NH * HS, KVD = NKV * HS;
    const opt = {
      lr: options.lr ?? 1e-6,
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.95,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0.1,
      gradClip: options.gradClip ?? 0.5,
    };
    const f32 = (n: number, label: string) => ctx.storage(n * 4, label);
    const tensors = new Map<string, TensorBufs>();
    for (const [name, t] of params) {
      const n = t.data.length;
      const w = f32(n, `w ${name}`);
      ctx.write(w, 0, Float32Array.from(t.data));
      const bufs = {
        w,
        g: f32(n, `g ${name}`),
        m: f32(n, `m ${name}`),
        v: f32(n, `v ${name}`),
        partials: f32(Math.ceil(n / SUMSQ_CHUNK), `sumsq ${name}`),
        n,
      };
      tensors.set(name, {
        ...bufs,
        adamw: k.bindAdamW(
          { param: w, grad: bufs.g, m: bufs.m, v: bufs.v, partials: bufs.partials },
          n,
          { ...opt, step: 1, clip: 1 },
        ),
        sumsq: k.bindSumSquares(bufs.g, bufs.partials, n, f32(1, "sumsq-dummy")),
      });
    }
    const P = (name: string) => {
      const t = tensors.get(name);
      if (t === undefined) throw new RangeError(`Missing parameter ${name} for the GPU trainer`);
      return t;
    };
    const head = P(config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");
    const invFreq = ropeInverseFrequencies(config, { roundTo: options.ropeRoundTo });
    const table = ropeTable(invFreq, T);
    const cos = f32(table.cos.length, "rope cos"), sin = f32(table.sin.length, "rope sin");
    ctx.write(cos, 0, table.cos);
    ctx.write(sin, 0, table.sin);
    const u32 = (n: number, label: string) => ctx.storage(n * 4, label);
    const inputs = {
      tokens: u32(T, "tokens"),
      targets: u32(T, "targets"),
      dlp: f32(T, "dlp"),
      dh: f32(T, "dh"),
      rows: u32(T, "csr rows"),
      starts: u32(T + 1, "csr starts"),
      positions: u32(T, "csr positions"),
      stats: f32(2 * T, "stats"),
    };
    // Activations of one sequence, per layer, kept for the backward.
    const acts = Array.from({ length: L }, (_, l) => ({
      x: f32(T * C, `x${l}`),
      xn1: f32(T * C, `xn1 ${l}`),
      rstd1: f32(T, `rstd1 ${l}`),
      qLin: f32(T * QD, `qLin ${l}`),
      kLin: f32(T * KVD, `kLin ${l}`),
      rstdQ: f32(T * NH, `rstdQ ${l}`),
      rstdK: f32(T * NKV, `rstdK ${l}`),
      q: f32(T * QD, `q ${l}`),
      k: f32(T * KVD, `k ${l}`),
      v: f32(T * KVD, `v ${l}`),
      probs: f32(NH * T * T, `probs ${l}`),
      att: f32(T * QD, `att ${l}`),
      xMid: f32(T * C, `xMid ${l}`),
      xn2: f32(T * C, `xn2 ${l}`),
      rstd2: f32(T, `rstd2 ${l}`),
      gate: f32(T * FF, `gate ${l}`),
      up: f32(T * FF, `up ${l}`),
      h: f32(T * FF, `h ${l}`),
    }));
    const xLast = f32(T * C, "xLast");
    const xnF = f32(T * C, "xnF"), rstdF = f32(T, "rstdF");
    const logits = f32(T * V, "logits"), dz = f32(T * V, "dz");
    const s = {
      dx: f32(T * C, "dx"),
      dxn: f32(T * C, "dxn"),
      dh: f32(T * FF, "dh"),
      dgate: f32(T * FF, "dgate"),
      dup: f32(T * FF, "dup"),
      dAtt: f32(T * QD, "dAtt"),
      dq: f32(T * QD, "dq"),
      dk: f32(T * KVD, "dk"),
      dv: f32(T * KVD, "dv"),
      dqLin: f32(T * QD, "dqLin"),
      dkLin: f32(T * KVD, "dkLin"),
      dscores: f32(NH * T * T, "dscores"),
    };
    // y (T, OC) (= | +=) x (T, IC) · W (OC, IC)ᵀ
    const linear = (
      x: GPUBuffer,
      w: GPUBuffer,
      y: GPUBuffer,
      IC: number,
      OC: number,
      beta: 0 | 1,
    ) => k.bindGemm(x, w, y, { M: T, N: OC, K: IC, beta }, [IC, 1], [1, IC]);
    // dx (T, IC) (= | +=) dy (T, OC) · W (OC, IC)
    const linearDx = (
      dy: GPUBuffer,
      w: GPUBuffer,
      dx: GPUBuffer,
      IC: number,
      OC: number,
      beta: 0 | 1,
    ) => k.bindGemm(dy, w, dx, { M: T, N: IC, K: OC, beta }, [OC, 1], [IC, 1]);
    // dW (OC, IC) += dyᵀ · x
    const linearDw = (dy: GPUBuffer, x: GPUBuffer, dw: GPUBuffer, IC: number, OC: number) =>
      k.bindGemm(dy, x, dw, { M: OC, N: IC, K: T, beta: 1 }, [1, OC], [IC, 1]);
    const copy = (src: GPUBuffer, dst: GPUBuffer, n: number): Copy => ({
      src,
      dst,
      sizeBytes: n * 4,
    });

    const fwd: Step[] = [
      k.bindEmbeddingForward(P("model.embed_tokens.weight").w, inputs.tokens, acts[0].x, { C, T }),
    ];
    const bwd: Step[] = [];
    for (let l = 0; l < L; l++) {
      const a = acts[l];
      const pre = `model.layers.${l}.`;
      const W = (n: string) => P(pre + n);
      const xNext = l + 1 < L ? acts[l + 1].x : xLast;
      fwd.push(
        k.bindRmsnormForward(a.x, W("input_layernorm.weight").w, a.xn1, a.rstd1, {
          rows: T,
          D: C,
          eps,
        }),
      );
      fwd.push(linear(a.xn1, W("self_attn.q_proj.weight").w, a.qLin, C, QD, 0));
      fwd.push(linear(a.xn1, W("self_attn.k_proj.weight").w, a.kLin, C, KVD, 0));
      fwd.push(linear(a.xn1, W("self_attn.v_proj.weight").w, a.v, C, KVD, 0));
      if (config.attentionBias) {
        fwd.push(k.bindAddBias(W("self_attn.q_proj.bias").w, a.qLin, T, QD));
        fwd.push(k.bindAddBias(W("self_attn.k_proj.bias").w, a.kLin, T, KVD));
        fwd.push(k.bindAddBias(W("self_attn.v_proj.bias").w, a.v, T, KVD));
      }
      if (config.qkNorm) {
        fwd.push(
          k.bindRmsnormForward(a.qLin, W("self_attn.q_norm.weight").w, a.q, a.rstdQ, {
            rows: T * NH,
            D: HS,
            eps,
          }),
        );
        fwd.push(
          k.bindRmsnormForward(a.kLin, W("self_attn.k_norm.weight").w, a.k, a.rstdK, {
            rows: T * NKV,
            D: HS,
            eps,
          }),
        );
      } else {
        fwd.push(copy(a.qLin, a.q, T * QD), copy(a.kLin, a.k, T * KVD));
      }
      fwd.push(k.bindRopeBackward(cos, sin, a.q, { T, heads: NH, HS, sign: 1 }));
      fwd.push(k.bindRopeBackward(cos, sin, a.k, { T, heads: NKV, HS, sign: 1 }));
      fwd.push(
        ...k.bindAttentionForward(
          {
            q: a.q,
            k: a.k,
            v: a.v,
            dout: s.dAtt,
            probs: a.probs,
            dscores: s.dscores,
            dq: a.att,
            dk: s.dk,
            dv: s.dv,
          },
          { T, NH, NKV, HS },
        ),
      );
      fwd.push(copy(a.x, a.xMid, T * C));
      fwd.push(linear(a.att, W("self_attn.o_proj.weight").w, a.xMid, QD, C, 1));
      if (config.outputBias) fwd.push(k.bindAddBias(W("self_attn.o_proj.bias").w, a.xMid, T, C));
      fwd.push(
        k.bindRmsnormForward(a.xMid, W("post_attention_layernorm.weight").w, a.xn2, a.rstd2, {
          rows: T,
          D: C,
          eps,
        }),
      );
      fwd.push(linear(a.xn2, W("mlp.gate_proj.weight").w, a.gate, C, FF, 0));
      fwd.push(linear(a.xn2, W("mlp.up_proj.weight").w, a.up, C, FF, 0));
      fwd.push(k.bindSwigluForward(a.gate, a.up, a.h, T * FF));
      fwd.push(copy(a.xMid, xNext, T * C));
      fwd.push(linear(a.h, W("mlp.down_proj.weight").w, xNext, FF, C, 1));
    }
    fwd.push(
      k.bindRmsnormForward(xLast, P("model.norm.weight").w, xnF, rstdF, { rows: T, D: C, eps }),
    );
    fwd.push(linear(xnF, head.w, logits, C, V, 0));
    const logprob = k.bindLogprobBackward(
      logits,
      inputs.targets,
      inputs.dlp,
      inputs.dh,
      dz,
      inputs.stats,
      { rows: T, V },
    );
    fwd.push(logprob);

    // Backward, in reverse.
    bwd.push(k.bindGemm(dz, xnF, head.g, { M: V, N: C, K: T, beta: 1 }, [1, V], [C, 1]));
    bwd.push(k.bindGemm(dz, head.w, s.dxn, { M: T, N: C, K: V, beta: 0 }, [V, 1], [C, 1]));
    const normF = P("model.norm.weight");
    bwd.push(
      ...k.bindRmsnormBackward(s.dxn, xLast, normF.w, s.dx, rstdF, normF.g, {
        rows: T,
        D: C,
        eps,
        accumulate: false,
      }),
    );
    const biasDummy = f32(1, "bias-dummy");
    for (let l = L - 1; l >= 0; l--) {
      const a = acts[l];
      const pre = `model.layers.${l}.`;
      const W = (n: string) => P(pre + n);
      const down = W("mlp.down_proj.weight"),
        gateW = W("mlp.gate_proj.weight"),
        upW = W("mlp.up_proj.weight");
      bwd.push(linearDx(s.dx, down.w, s.dh, FF, C, 0));
      bwd.push(linearDw(s.dx, a.h, down.g, FF, C));
      bwd.push(k.bindSwigluBackward(s.dh, a.gate, a.up, s.dgate, s.dup, T * FF));
      bwd.push(linearDx(s.dgate, gateW.w, s.dxn, C, FF, 0));
      bwd.push(linearDx(s.dup, upW.w, s.dxn, C, FF, 1));
      bwd.push(linearDw(s.dgate, a.xn2, gateW.g, C, FF));
      bwd.push(linearDw(s.dup, a.xn2, upW.g, C, FF));
      const ln2 = W("post_attention_layernorm.weight");
      bwd.push(
        ...k.bindRmsnormBackward(s.dxn, a.xMid, ln2.w, s.dx, a.rstd2, ln2.g, {
          rows: T,
          D: C,
          eps,
          accumulate: true,
        }),
      );
      const wo = W("self_attn.o_proj.weight");
      bwd.push(linearDx(s.dx, wo.w, s.dAtt, QD, C, 0));
      bwd.push(linearDw(s.dx, a.att, wo.g, QD, C));
      if (config.outputBias) {
        bwd.push(k.bindBiasGrad(s.dx, W("self_attn.o_proj.bias").g, T, C, biasDummy));
      }
      bwd.push(
        ...k.bindAttentionBackward(
          {
            q: a.q,
            k: a.k,
            v: a.v,
            dout: s.dAtt,
            probs: a.probs,
            dscores: s.dscores,
            dq: s.dq,
            dk: s.dk,
            dv: s.dv,
          },
          { T, NH, NKV, HS },
        ),
      );
      bwd.push(k.bindRopeBackward(cos, sin, s.dq, { T, heads: NH, HS, sign: -1 }));
      bwd.push(k.bindRopeBackward(cos, sin, s.dk, { T, heads: NKV, HS, sign: -1 }));
      let dqLin = s.dq, dkLin = s.dk;
      if (config.qkNorm) {
        const qn = W("self_attn.q_norm.weight"), kn = W("self_attn.k_norm.weight");
        bwd.push(
          ...k.bindRmsnormBackward(s.dq, a.qLin, qn.w, s.dqLin, a.rstdQ, qn.g, {
            rows: T * NH,
            D: HS,
            eps,
            accumulate: false,
          }),
        );
        bwd.push(
          ...k.bindRmsnormBackward(s.dk, a.kLin, kn.w, s.dkLin, a.rstdK, kn.g, {
            rows: T * NKV,
            D: HS,
            eps,
            accumulate: false,
          }),
        );
        dqLin = s.dqLin;
        dkLin = s.dkLin;
      }
      const wq = W("self_attn.q_proj.weight"),
        wk = W("self_attn.k_proj.weight"),
        wv = W("self_attn.v_proj.weight");
      bwd.push(linearDx(dqLin, wq.w, s.dxn, C, QD, 0));
      bwd.push(linearDx(dkLin, wk.w, s.dxn, C, KVD, 1));
      bwd.push(linearDx(s.dv, wv.w, s.dxn, C, KVD, 1));
      bwd.push(linearDw(dqLin, a.xn1, wq.g, C, QD));
      bwd.push(linearDw(dkLin, a.xn1, wk.g, C, KVD));
      bwd.push(linearDw(s.dv, a.xn1, wv.g, C, KVD));
      if (config.attentionBias) {
        bwd.push(k.bindBiasGrad(dqLin, W("self_attn.q_proj.bias").g, T, QD, biasDummy));
        bwd.push(k.bindBiasGrad(dkLin, W("self_attn.k_proj.bias").g, T, KVD, biasDummy));
        bwd.push(k.bindBiasGrad(s.dv, W("self_attn.v_proj.bias").g, T, KVD, biasDummy));
      }
      const ln1 = W("input_layernorm.weight");
      bwd.push(
        ...k.bindRmsnormBackward(s.dxn, a.x, ln1.w, s.dx, a.rstd1, ln1.g, {
          rows: T,
          D: C,
          eps,
          accumulate: true,
        }),
      );
    }
    bwd.push(
      k.bindEmbeddingBackward(
        s.dx,
        inputs.rows,
        inputs.starts,
        inputs.positions,
        P("model.embed_tokens.weight").g,
        { C, U: T },
      ),
    );
    return new GpuGrpoTrainer(ctx, config, T, opt, tensors, inputs, fwd, bwd, logprob);
  }

  #encode(enc: GPUCommandEncoder, steps: readonly Step[]): void {
    let pass: GPUComputePassEncoder | null = null;
    for (const s of steps) {
      if ("src" in s) {
        pass?.end();
        pass = null;
        enc.copyBufferToBuffer(s.src, 0, s.dst, 0, s.sizeBytes);
      } else {
        pass ??= enc.beginComputePass();
        encodeDispatch(pass, s, 0);
      }
    }
    pass?.end();
  }

  #writeSequence(
    seq: GrpoSample,
    dLp: ArrayLike<number> | null,
    dH: ArrayLike<number> | null,
  ): void {
    const T = this.maxLenTokens;
    const n = seq.tokens.length;
    if (n > T) {
      throw new RangeError(
        `Invalid sequence: ${n} tokens, the trainer holds ${T}; create it with a larger maxLenTokens`,
      );
    }
    const P = seq.promptLength;
    if (!Number.isInteger(P) || P < 1 || P >= n) {
      throw new RangeError(`Invalid promptLength: got ${P} for ${n} tokens, expected 1 ≤ P < T`);
    }
    const tokens = new Uint32Array(T);
    tokens.set(seq.tokens);
    const targets = new Uint32Array(T);
    for (let t = 0; t + 1 < n; t++) targets[t] = seq.tokens[t + 1];
    const dlp = new Float32Array(T), dh = new Float32Array(T);
    if (dLp !== null && dH !== null) {
      for (let j = 0; j < n - P; j++) {
        dlp[P - 1 + j] = dLp[j];
        dh[P - 1 + j] = dH[j];
      }
    }
    const ctx = this.#ctx;
    ctx.write(this.#inputs.tokens, 0, tokens);
    ctx.write(this.#inputs.targets, 0, targets);
    ctx.write(this.#inputs.dlp, 0, dlp);
    ctx.write(this.#inputs.dh, 0, dh);
    // CSR of the padded sequence, padded to T groups (empty groups add zero to row 0).
    const g = groupTokens([...tokens]);
    const rows = new Uint32Array(T), starts = new Uint32Array(T + 1).fill(T);
    rows.set(g.rows);
    starts.set(g.starts);
    ctx.write(this.#inputs.rows, 0, rows);
    ctx.write(this.#inputs.starts, 0, starts);
    ctx.write(this.#inputs.positions, 0, g.positions);
  }

  #writeGradients(seq: GrpoSample, dLp: ArrayLike<number>, dH: ArrayLike<number>): void {
    const T = this.maxLenTokens, P = seq.promptLength;
    const dlp = new Float32Array(T), dh = new Float32Array(T);
    for (let j = 0; j < seq.tokens.length - P; j++) {
      dlp[P - 1 + j] = dLp[j];
      dh[P - 1 + j] = dH[j];
    }
    this.#ctx.write(this.#inputs.dlp, 0, dlp);
    this.#ctx.write(this.#inputs.dh, 0, dh);
  }

  /**
   * Log-probs and entropies of a sequence's completion tokens (its forward, activations kept).
   *
   * @param seq The sequence.
   * @returns Per completion token (float64 copies of the f32 results).
   */
  async completionStats(seq: GrpoSample): Promise<CompletionStats> {
    this.#writeSequence(seq, null, null);
    const enc = this.#ctx.device.createCommandEncoder();
    this.#encode(enc, this.#forward);
    this.#ctx.device.queue.submit([enc.finish()]);
    const stats = new Float32Array(
      await this.#ctx.read(this.#inputs.stats, 0, 2 * this.maxLenTokens * 4),
    );
    const P = seq.promptLength, n = seq.tokens.length - P;
    const logprobs = new Float64Array(n), entropy = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      logprobs[j] = stats[2 * (P - 1 + j)];
      entropy[j] = stats[2 * (P - 1 + j) + 1];
    }
    return { logprobs, entropy };
  }

  /** Sets every gradient to zero. */
  zeroGrads(): void {
    const enc = this.#ctx.device.createCommandEncoder();
    for (const t of this.#tensors.values()) enc.clearBuffer(t.g);
    this.#ctx.device.queue.submit([enc.finish()]);
  }

  /**
   * Adds one sequence's gradient (phase 3: recomputed forward, then backward).
   *
   * @param seq The sequence.
   * @param dLp ∂L/∂lp per completion token.
   * @param dH ∂L/∂H per completion token.
   */
  accumulate(seq: GrpoSample, dLp: ArrayLike<number>, dH: ArrayLike<number>): void {
    this.#writeSequence(seq, dLp, dH);
    const enc = this.#ctx.device.createCommandEncoder();
    this.#encode(enc, this.#forward);
    this.#encode(enc, this.#backward);
    this.#ctx.device.queue.submit([enc.finish()]);
  }

  /**
   * The GRPO gradient of a batch into the gradient buffers (zeroed first).
   *
   * @param samples The batch.
   * @param referenceLogprobs Reference log-probs per sample, or null (KL off).
   * @param options Loss settings.
   * @returns The loss statistics.
   */
  async gradients(
    samples: readonly GrpoSample[],
    referenceLogprobs: readonly ArrayLike<number>[] | null,
    options: GrpoLossOptions = {},
  ): Promise<GpuStepStats> {
    // Every loss term is a sum over sequences once the batch's N and B are known, so each
    // sequence needs only its own log-probs: one forward (activations kept), its statistics
    // read back, its ∂L/∂lp and ∂L/∂H on the host, then its backward.
    const tokens = samples.reduce((a, s) => a + s.tokens.length - s.promptLength, 0);
    const batch = { tokens, sequences: samples.length };
    const lossOptions = referenceLogprobs === null ? { ...options, klCoef: 0 } : options;
    this.zeroGrads();
    const stats = {
      loss: 0,
      policyLoss: 0,
      klLoss: 0,
      entropyLoss: 0,
      meanKl: 0,
      meanEntropy: 0,
      clipFraction: 0,
    };
    const logprobs: Float64Array[] = [];
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      const cur = await this.completionStats(s);
      const part = grpoLoss([{
        lpCur: cur.logprobs,
        lpOld: s.behaviourLogprobs,
        lpRef: referenceLogprobs === null ? null : referenceLogprobs[i],
        entropy: cur.entropy,
        advantage: s.advantage,
      }], { ...lossOptions, batch });
      for (const k of Object.keys(stats) as (keyof typeof stats)[]) stats[k] += part[k];
      logprobs.push(cur.logprobs);
      this.#writeGradients(s, part.dLpCur[0], part.dEntropy[0]);
      const enc = this.#ctx.device.createCommandEncoder();
      this.#encode(enc, [this.#logprob, ...this.#backward]);
      this.#ctx.device.queue.submit([enc.finish()]);
    }
    stats.clipFraction /= Math.max(1, samples.length);
    await this.#ctx.device.queue.onSubmittedWorkDone();
    this.#ctx.checkAlive();
    return { ...stats, tokens, logprobs };
  }

  /**
   * Clips the gradients to the global norm bound and applies AdamW.
   *
   * @returns The gradient norm before clipping.
   * @throws {RangeError} For a non-finite norm (the step is not applied).
   */
  async optimizerStep(): Promise<number> {
    const ctx = this.#ctx;
    let enc = ctx.device.createCommandEncoder();
    let pass = enc.beginComputePass();
    for (const t of this.#tensors.values()) encodeDispatch(pass, t.sumsq, 0);
    pass.end();
    ctx.device.queue.submit([enc.finish()]);
    let ss = 0;
    for (const t of this.#tensors.values()) {
      const parts = new Float32Array(
        await ctx.read(t.partials, 0, Math.ceil(t.n / SUMSQ_CHUNK) * 4),
      );
      for (const x of parts) ss += x;
    }
    const norm = Math.sqrt(ss);
    if (!Number.isFinite(norm)) {
      throw new RangeError(`Invalid gradients: non-finite global norm ${norm}; step not applied`);
    }
    const clip = Math.min(1, this.#opt.gradClip / (norm + 1e-6));
    this.stepCount++;
    enc = ctx.device.createCommandEncoder();
    for (const t of this.#tensors.values()) {
      updateAdamW(ctx, t.adamw, t.n, { ...this.#opt, step: this.stepCount, clip });
    }
    pass = enc.beginComputePass();
    for (const t of this.#tensors.values()) encodeDispatch(pass, t.adamw, 0);
    pass.end();
    ctx.device.queue.submit([enc.finish()]);
    await ctx.device.queue.onSubmittedWorkDone();
    return norm;
  }

  /**
   * Overwrites the GPU weights with `params` (rounded to f32), e.g. after an optimiser step taken
   * elsewhere.
   *
   * @param params Same names and sizes as at creation.
   * @throws {RangeError} For an unknown tensor or a size mismatch.
   */
  writeParams(params: Params): void {
    for (const [name, t] of params) {
      const bufs = this.#tensors.get(name);
      if (bufs === undefined || bufs.n !== t.data.length) {
        throw new RangeError(
          `Invalid parameter ${name}: ${t.data.length} values, the trainer holds ${
            bufs?.n ?? "none"
          }`,
        );
      }
      this.#ctx.write(bufs.w, 0, Float32Array.from(t.data));
    }
  }

  /**
   * Reads one tensor's gradient back.
   *
   * @param name HF tensor name.
   * @returns Its f32 gradient.
   */
  async readGrad(name: string): Promise<Float32Array> {
    const t = this.#tensors.get(name);
    if (t === undefined) throw new RangeError(`No tensor ${name}`);
    return new Float32Array(await this.#ctx.read(t.g, 0, t.n * 4));
  }

  /**
   * Reads one tensor's current weights back.
   *
   * @param name HF tensor name.
   * @returns Its f32 values.
   */
  async readParam(name: string): Promise<Float32Array> {
    const t = this.#tensors.get(name);
    if (t === undefined) throw new RangeError(`No tensor ${name}`);
    return new Float32Array(await this.#ctx.read(t.w, 0, t.n * 4));
  }
}
