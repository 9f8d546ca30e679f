/**
 * The CPU reference of the training path: the decoder forward in float64 (no float32 rounding
 * anywhere) keeping the activations of one sequence, and its exact backward for every op —
 * embedding, RMSNorm (incl. Qwen3's per-head q/k norms), matmul with bias, RoPE, causal
 * grouped-query attention, SwiGLU, the lm_head and log-softmax / entropy of the completion
 * positions. Gradients are accumulated into a {@link Params}-shaped store.
 *
 * The forward is recomputed for the backward of each sequence (activation recomputation): only
 * one sequence's activations are alive at a time, so memory is O(T·(C + FF) + NH·T²) per step
 * whatever the batch.
 *
 * Dimension legend: T positions, C hidden, V vocab, L layers, NH query heads, NKV key/value heads,
 * HS head size, FF MLP width, QD = NH·HS, KVD = NKV·HS; P prompt length, n = T − P completion
 * tokens.
 *
 * @module
 */

import type { ModelConfig } from "../model/config.ts";
import { ropeInverseFrequencies } from "../model/rope.ts";
import { param, type Params } from "./params.ts";
import {
  attention,
  attentionBackward,
  matmul,
  matmulBackward,
  rmsnorm,
  rmsnormBackward,
  rope,
  sigmoid,
} from "./_cpu_ops.ts";

/** A training sequence: prompt then completion tokens. */
export interface TrainSequence {
  /** Token ids (T), prompt first. */
  tokens: readonly number[];
  /** P ≥ 1; the completion is tokens[P..T). */
  promptLength: number;
}

/** Numerical choices of the training forward. */
export interface TrainForwardOptions {
  /**
   * Precision of the RoPE inverse frequencies (default "bfloat16": what a bf16 checkpoint's
   * inference holds, so the trainer's log-probs match the miners'; "float32" is transformers'
   * value for a model loaded in float32, as the PyTorch gradient check does).
   */
  ropeRoundTo?: "bfloat16" | "float32";
}

/** Per-completion-token outputs of the policy forward. */
export interface CompletionStats {
  /** log p(tokens[P+j] | tokens[..P+j)) for j < n. */
  logprobs: Float64Array;
  /** Entropy of the same next-token distributions (n). */
  entropy: Float64Array;
}

// ---------------------------------------------------------------------------------------------

interface LayerActs {
  x: Float64Array; // (T, C) residual stream entering the layer
  xn1: Float64Array;
  rstd1: Float64Array;
  qLin: Float64Array; // (T, QD) after q_proj (before q_norm)
  kLin: Float64Array; // (T, KVD)
  rstdQ: Float64Array | null; // (T·NH)
  rstdK: Float64Array | null; // (T·NKV)
  q: Float64Array; // (T, QD) after norm and RoPE
  k: Float64Array; // (T, KVD)
  v: Float64Array; // (T, KVD)
  probs: Float64Array; // (NH, T, T)
  att: Float64Array; // (T, QD)
  xMid: Float64Array; // (T, C) after the attention residual
  xn2: Float64Array;
  rstd2: Float64Array;
  gate: Float64Array; // (T, FF)
  up: Float64Array;
  h: Float64Array; // silu(gate)·up
}

interface Acts {
  layers: LayerActs[];
  xLast: Float64Array; // (T, C) before the final norm
  xnF: Float64Array;
  rstdF: Float64Array;
}

function bias(params: Params, name: string, present: boolean): Float64Array | null {
  return present ? param(params, name).data : null;
}

function checkSequence(config: ModelConfig, seq: TrainSequence): void {
  const T = seq.tokens.length;
  if (!Number.isInteger(seq.promptLength) || seq.promptLength < 1 || seq.promptLength >= T) {
    throw new RangeError(
      `Invalid promptLength: got ${seq.promptLength} for ${T} tokens, expected 1 ≤ P < T (a prompt and at least one completion token)`,
    );
  }
  for (let i = 0; i < T; i++) {
    const id = seq.tokens[i];
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new RangeError(
        `Invalid tokens[${i}]: got ${id}, expected an integer in [0, ${config.vocabSize})`,
      );
    }
  }
}

function forwardActs(
  config: ModelConfig,
  params: Params,
  tokens: readonly number[],
  invFreq: Float32Array,
): Acts {
  const { hiddenSize: C, intermediateSize: FF, numHeads: NH, numKvHeads: NKV, headDim: HS } =
    config;
  const eps = config.rmsNormEps;
  const T = tokens.length;
  const QD = NH * HS, KVD = NKV * HS;
  const embed = param(params, "model.embed_tokens.weight").data;
  let x = new Float64Array(T * C);
  for (let t = 0; t < T; t++) x.set(embed.subarray(tokens[t] * C, (tokens[t] + 1) * C), t * C);
  const layers: LayerActs[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    const w = (n: string) => param(params, `${p}.${n}`).data;
    const a: LayerActs = {
      x,
      xn1: new Float64Array(T * C),
      rstd1: new Float64Array(T),
      qLin: new Float64Array(T * QD),
      kLin: new Float64Array(T * KVD),
      rstdQ: config.qkNorm ? new Float64Array(T * NH) : null,
      rstdK: config.qkNorm ? new Float64Array(T * NKV) : null,
      q: new Float64Array(T * QD),
      k: new Float64Array(T * KVD),
      v: new Float64Array(T * KVD),
      probs: new Float64Array(NH * T * T),
      att: new Float64Array(T * QD),
      xMid: new Float64Array(T * C),
      xn2: new Float64Array(T * C),
      rstd2: new Float64Array(T),
      gate: new Float64Array(T * FF),
      up: new Float64Array(T * FF),
      h: new Float64Array(T * FF),
    };
    rmsnorm(a.xn1, a.rstd1, x, w("input_layernorm.weight"), T, C, eps);
    const ab = config.attentionBias;
    matmul(
      a.qLin,
      a.xn1,
      w("self_attn.q_proj.weight"),
      bias(params, `${p}.self_attn.q_proj.bias`, ab),
      T,
      C,
      QD,
    );
    matmul(
      a.kLin,
      a.xn1,
      w("self_attn.k_proj.weight"),
      bias(params, `${p}.self_attn.k_proj.bias`, ab),
      T,
      C,
      KVD,
    );
    matmul(
      a.v,
      a.xn1,
      w("self_attn.v_proj.weight"),
      bias(params, `${p}.self_attn.v_proj.bias`, ab),
      T,
      C,
      KVD,
    );
    if (a.rstdQ !== null && a.rstdK !== null) {
      rmsnorm(a.q, a.rstdQ, a.qLin, w("self_attn.q_norm.weight"), T * NH, HS, eps);
      rmsnorm(a.k, a.rstdK, a.kLin, w("self_attn.k_norm.weight"), T * NKV, HS, eps);
    } else {
      a.q.set(a.qLin);
      a.k.set(a.kLin);
    }
    rope(a.q, T, NH, HS, invFreq, 1);
    rope(a.k, T, NKV, HS, invFreq, 1);
    attention(a.att, a.probs, a.q, a.k, a.v, T, NH, NKV, HS);
    matmul(
      a.xMid,
      a.att,
      w("self_attn.o_proj.weight"),
      bias(params, `${p}.self_attn.o_proj.bias`, config.outputBias),
      T,
      QD,
      C,
    );
    for (let i = 0; i < T * C; i++) a.xMid[i] += x[i];
    rmsnorm(a.xn2, a.rstd2, a.xMid, w("post_attention_layernorm.weight"), T, C, eps);
    matmul(a.gate, a.xn2, w("mlp.gate_proj.weight"), null, T, C, FF);
    matmul(a.up, a.xn2, w("mlp.up_proj.weight"), null, T, C, FF);
    for (let i = 0; i < T * FF; i++) a.h[i] = a.gate[i] * sigmoid(a.gate[i]) * a.up[i];
    const next = new Float64Array(T * C);
    matmul(next, a.h, w("mlp.down_proj.weight"), null, T, FF, C);
    for (let i = 0; i < T * C; i++) next[i] += a.xMid[i];
    layers.push(a);
    x = next;
  }
  const xnF = new Float64Array(T * C);
  const rstdF = new Float64Array(T);
  rmsnorm(xnF, rstdF, x, param(params, "model.norm.weight").data, T, C, eps);
  return { layers, xLast: x, xnF, rstdF };
}

function lmHeadName(config: ModelConfig): string {
  return config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
}

/**
 * Log-softmax of one row of logits (V): fills `logp` and returns the entropy −Σ p log p.
 */
function logSoftmax(logp: Float64Array, logits: Float64Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - max);
  const lse = max + Math.log(s);
  let h = 0;
  for (let i = 0; i < logits.length; i++) {
    logp[i] = logits[i] - lse;
    h -= Math.exp(logp[i]) * logp[i];
  }
  return h;
}

/**
 * The policy forward of one sequence: log-probs and entropies of its completion tokens.
 *
 * @param config The model config.
 * @param params Its parameters.
 * @param seq Tokens and prompt length.
 * @param options Numerical choices.
 * @returns Per completion token: log-prob and entropy (float64).
 * @throws {RangeError} For a bad token or prompt length, or missing parameters.
 *
 * @example
 * ```ts
 * import { policyForward } from "./cpu_backward.ts";
 * import { loadParams } from "./params.ts";
 * import { makeTinyModel } from "../model/tiny.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "qwen3", seed: 1, vocabSize: 32, hiddenSize: 16 });
 * const { config, params } = await loadParams(dir);
 * await Deno.remove(dir, { recursive: true });
 * const s = policyForward(config, params, { tokens: [1, 2, 3], promptLength: 1 });
 * if (s.logprobs.length !== 2 || !(s.logprobs[0] < 0)) throw new Error();
 * ```
 */
export function policyForward(
  config: ModelConfig,
  params: Params,
  seq: TrainSequence,
  options: TrainForwardOptions = {},
): CompletionStats {
  checkSequence(config, seq);
  const invFreq = ropeInverseFrequencies(config, { roundTo: options.ropeRoundTo });
  const acts = forwardActs(config, params, seq.tokens, invFreq);
  return completionStats(config, params, seq, acts.xnF, null, null, null);
}

/**
 * Completion-token statistics from the final hidden states; when `dLp`/`dH` are given also the
 * gradient with respect to the final hidden states (into `dxn`) and the lm_head (into grads).
 */
function completionStats(
  config: ModelConfig,
  params: Params,
  seq: TrainSequence,
  xnF: Float64Array,
  dLp: ArrayLike<number> | null,
  dH: ArrayLike<number> | null,
  grads: { dxn: Float64Array; dHead: Float64Array } | null,
): CompletionStats {
  const { hiddenSize: C, vocabSize: V } = config;
  const T = seq.tokens.length;
  const P = seq.promptLength;
  const n = T - P;
  const head = param(params, lmHeadName(config)).data;
  const logprobs = new Float64Array(n);
  const entropy = new Float64Array(n);
  const logits = new Float64Array(V);
  const logp = new Float64Array(V);
  const dz = new Float64Array(V);
  for (let j = 0; j < n; j++) {
    const t = P - 1 + j; // position whose logits predict tokens[t + 1]
    matmul(logits, xnF.subarray(t * C, (t + 1) * C), head, null, 1, C, V);
    const h = logSoftmax(logp, logits);
    const y = seq.tokens[t + 1];
    logprobs[j] = logp[y];
    entropy[j] = h;
    if (grads === null || dLp === null || dH === null) continue;
    // ∂lp_y/∂z = onehot(y) − p;  ∂H/∂z_v = −p_v (log p_v + H).
    for (let v = 0; v < V; v++) {
      const p = Math.exp(logp[v]);
      dz[v] = -dLp[j] * p - dH[j] * p * (logp[v] + h);
    }
    dz[y] += dLp[j];
    const dx = grads.dxn.subarray(t * C, (t + 1) * C);
    const x = xnF.subarray(t * C, (t + 1) * C);
    for (let v = 0; v < V; v++) {
      const g = dz[v];
      const o = v * C;
      for (let i = 0; i < C; i++) {
        grads.dHead[o + i] += g * x[i];
        dx[i] += g * head[o + i];
      }
    }
  }
  return { logprobs, entropy };
}

/**
 * Backpropagates ∂L/∂lp and ∂L/∂H of one sequence's completion tokens through the whole model,
 * adding the parameter gradients into `grads` (recomputing the forward first).
 *
 * @param config The model config.
 * @param params Its parameters.
 * @param seq Tokens and prompt length.
 * @param dLp ∂L/∂logprob per completion token (n).
 * @param dH ∂L/∂entropy per completion token (n).
 * @param grads Gradient store shaped like `params` (see `zeroParams`); accumulated into.
 * @param options Numerical choices (as the forward's).
 * @returns The completion statistics of the recomputed forward.
 * @throws {RangeError} For bad sequences or gradient lengths.
 *
 * @example
 * ```ts
 * import { policyBackward } from "./cpu_backward.ts";
 * import { loadParams, zeroParams } from "./params.ts";
 * import { makeTinyModel } from "../model/tiny.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "llama", seed: 1, vocabSize: 32, hiddenSize: 16 });
 * const { config, params } = await loadParams(dir);
 * await Deno.remove(dir, { recursive: true });
 * const grads = zeroParams(config);
 * policyBackward(config, params, { tokens: [1, 2, 3], promptLength: 2 }, [1], [0], grads);
 * if (grads.get("model.norm.weight")!.data.every((g) => g === 0)) throw new Error();
 * ```
 */
export function policyBackward(
  config: ModelConfig,
  params: Params,
  seq: TrainSequence,
  dLp: ArrayLike<number>,
  dH: ArrayLike<number>,
  grads: Params,
  options: TrainForwardOptions = {},
): CompletionStats {
  checkSequence(config, seq);
  const T = seq.tokens.length;
  const n = T - seq.promptLength;
  if (dLp.length !== n || dH.length !== n) {
    throw new RangeError(
      `Invalid gradient lengths: dLp ${dLp.length}, dH ${dH.length}, expected ${n} (completion tokens)`,
    );
  }
  const { hiddenSize: C, intermediateSize: FF, numHeads: NH, numKvHeads: NKV, headDim: HS } =
    config;
  const QD = NH * HS, KVD = NKV * HS;
  const invFreq = ropeInverseFrequencies(config, { roundTo: options.ropeRoundTo });
  const acts = forwardActs(config, params, seq.tokens, invFreq);
  const g = (name: string) => param(grads, name).data;
  const dxn = new Float64Array(T * C);
  const stats = completionStats(config, params, seq, acts.xnF, dLp, dH, {
    dxn,
    dHead: g(lmHeadName(config)),
  });
  // dx: gradient of the residual stream, walked back layer by layer.
  const dx = new Float64Array(T * C);
  rmsnormBackward(
    dx,
    g("model.norm.weight"),
    dxn,
    acts.xLast,
    acts.rstdF,
    param(params, "model.norm.weight").data,
    T,
    C,
  );
  const dxnBuf = new Float64Array(T * C);
  const dh = new Float64Array(T * FF);
  const dGate = new Float64Array(T * FF);
  const dUp = new Float64Array(T * FF);
  const tmpC = new Float64Array(T * C);
  const dAtt = new Float64Array(T * QD);
  const dq = new Float64Array(T * QD);
  const dk = new Float64Array(T * KVD);
  const dv = new Float64Array(T * KVD);
  for (let l = config.numLayers - 1; l >= 0; l--) {
    const a = acts.layers[l];
    const p = `model.layers.${l}`;
    const w = (nm: string) => param(params, `${p}.${nm}`).data;
    const gw = (nm: string) => g(`${p}.${nm}`);
    const gb = (nm: string, present: boolean) => present ? g(`${p}.${nm}`) : null;
    // MLP: x_out = xMid + down(silu(gate)·up).
    matmulBackward(
      dh,
      gw("mlp.down_proj.weight"),
      null,
      dx,
      a.h,
      w("mlp.down_proj.weight"),
      T,
      FF,
      C,
    );
    for (let i = 0; i < T * FF; i++) {
      const z = a.gate[i];
      const s = sigmoid(z);
      dUp[i] = dh[i] * z * s;
      dGate[i] = dh[i] * a.up[i] * s * (1 + z * (1 - s));
    }
    matmulBackward(
      dxnBuf,
      gw("mlp.gate_proj.weight"),
      null,
      dGate,
      a.xn2,
      w("mlp.gate_proj.weight"),
      T,
      C,
      FF,
    );
    matmulBackward(
      tmpC,
      gw("mlp.up_proj.weight"),
      null,
      dUp,
      a.xn2,
      w("mlp.up_proj.weight"),
      T,
      C,
      FF,
    );
    for (let i = 0; i < T * C; i++) dxnBuf[i] += tmpC[i];
    rmsnormBackward(
      tmpC,
      gw("post_attention_layernorm.weight"),
      dxnBuf,
      a.xMid,
      a.rstd2,
      w("post_attention_layernorm.weight"),
      T,
      C,
    );
    for (let i = 0; i < T * C; i++) dx[i] += tmpC[i]; // dx is now ∂L/∂xMid
    // Attention: xMid = x + o_proj(attn(rope(norm(q)), rope(norm(k)), v)).
    matmulBackward(
      dAtt,
      gw("self_attn.o_proj.weight"),
      gb("self_attn.o_proj.bias", config.outputBias),
      dx,
      a.att,
      w("self_attn.o_proj.weight"),
      T,
      QD,
      C,
    );
    attentionBackward(dq, dk, dv, dAtt, a.probs, a.q, a.k, a.v, T, NH, NKV, HS);
    rope(dq, T, NH, HS, invFreq, -1);
    rope(dk, T, NKV, HS, invFreq, -1);
    if (a.rstdQ !== null && a.rstdK !== null) {
      rmsnormBackward(
        dq,
        gw("self_attn.q_norm.weight"),
        dq,
        a.qLin,
        a.rstdQ,
        w("self_attn.q_norm.weight"),
        T * NH,
        HS,
      );
      rmsnormBackward(
        dk,
        gw("self_attn.k_norm.weight"),
        dk,
        a.kLin,
        a.rstdK,
        w("self_attn.k_norm.weight"),
        T * NKV,
        HS,
      );
    }
    const ab = config.attentionBias;
    matmulBackward(
      dxnBuf,
      gw("self_attn.q_proj.weight"),
      gb("self_attn.q_proj.bias", ab),
      dq,
      a.xn1,
      w("self_attn.q_proj.weight"),
      T,
      C,
      QD,
    );
    matmulBackward(
      tmpC,
      gw("self_attn.k_proj.weight"),
      gb("self_attn.k_proj.bias", ab),
      dk,
      a.xn1,
      w("self_attn.k_proj.weight"),
      T,
      C,
      KVD,
    );
    for (let i = 0; i < T * C; i++) dxnBuf[i] += tmpC[i];
    matmulBackward(
      tmpC,
      gw("self_attn.v_proj.weight"),
      gb("self_attn.v_proj.bias", ab),
      dv,
      a.xn1,
      w("self_attn.v_proj.weight"),
      T,
      C,
      KVD,
    );
    for (let i = 0; i < T * C; i++) dxnBuf[i] += tmpC[i];
    rmsnormBackward(
      tmpC,
      gw("input_layernorm.weight"),
      dxnBuf,
      a.x,
      a.rstd1,
      w("input_layernorm.weight"),
      T,
      C,
    );
    for (let i = 0; i < T * C; i++) dx[i] += tmpC[i]; // ∂L/∂x entering layer l
  }
  const dEmbed = g("model.embed_tokens.weight");
  for (let t = 0; t < T; t++) {
    const o = seq.tokens[t] * C;
    for (let i = 0; i < C; i++) dEmbed[o + i] += dx[t * C + i];
  }
  return stats;
}
