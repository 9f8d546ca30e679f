/**
 * The CPU reference forward of Qwen2, Qwen3 and Llama decoders, in TypeScript, the whole forward
 * readable in one place (llm.c style). Weights are held as float32; every dot product, norm and
 * softmax accumulates in float64 (JS numbers) and activations are rounded to float32 where they
 * are stored, as the Hugging Face float32 reference stores them.
 *
 * Determinism and batch invariance hold by construction: every position goes through the same
 * per-position code (matrix-vector products, attention over its own prefix in ascending order),
 * whether it comes from a proof forward, a prefill or a decode step, alone or in a batch. So the
 * hidden state of a generated position is bit-identical to the proof forward's for the same
 * full sequence.
 *
 * Dimension legend: T positions, C hidden, V vocab, L layers, NH query heads, NKV key/value
 * heads, HS head size, FF MLP width, KVD = NKV·HS.
 *
 * @module
 */

import type { ModelConfig } from "./config.ts";
import { type Checkpoint, openCheckpoint } from "./checkpoint.ts";
import { ModelError } from "./errors.ts";
import type { GenerationSession, Model, ProofForwardOptions, ProofForwardResult } from "./model.ts";
import { ropeInverseFrequencies } from "./rope.ts";
import { sketches } from "../protocol/sketch.ts";

/** Weights of one decoder layer; linear weights are [out, in] row-major, as in HF. */
export interface LayerWeights {
  /** (C) */
  ln1: Float32Array;
  /** (NH·HS, C) */
  wq: Float32Array;
  /** (KVD, C) */
  wk: Float32Array;
  /** (KVD, C) */
  wv: Float32Array;
  /** (NH·HS) qwen2, or attention_bias */
  bq: Float32Array | null;
  /** (KVD) */
  bk: Float32Array | null;
  /** (KVD) */
  bv: Float32Array | null;
  /** (HS) qwen3 */
  qNorm: Float32Array | null;
  /** (HS) qwen3 */
  kNorm: Float32Array | null;
  /** (C, NH·HS) */
  wo: Float32Array;
  /** (C) llama/qwen3 with attention_bias */
  bo: Float32Array | null;
  /** (C) */
  ln2: Float32Array;
  /** (FF, C) */
  wGate: Float32Array;
  /** (FF, C) */
  wUp: Float32Array;
  /** (C, FF) */
  wDown: Float32Array;
}

/** All weights of the model, widened to float32. */
export interface CpuWeights {
  /** (V, C) token embedding. */
  embed: Float32Array;
  /** Per layer. */
  layers: LayerWeights[];
  /** (C) final RMSNorm. */
  norm: Float32Array;
  /** (V, C) output projection; the embedding itself when tied. */
  lmHead: Float32Array;
}

/** K and V of every layer for positions [0, maxLen) of one sequence. */
interface KvCache {
  k: Float32Array[]; // L × (maxLen, KVD)
  v: Float32Array[]; // L × (maxLen, KVD)
  maxLen: number;
}

// ---------------------------------------------------------------------------------------------
// Ops. Each writes `out` first, then reads its inputs; shapes in the comment above it.

/**
 * out (n, OC) = inp (n, IC) · wᵀ (OC, IC) + b; each output is one float64 sum in ascending i,
 * rounded to f32. This is where the time goes: four positions share each weight row read (the
 * per-output order of additions is unchanged, so a position's bits do not depend on its block).
 */
function matmul(
  out: Float32Array,
  inp: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  n: number,
  IC: number,
  OC: number,
): void {
  let t = 0;
  for (; t + 4 <= n; t += 4) {
    const x0 = t * IC, x1 = x0 + IC, x2 = x1 + IC, x3 = x2 + IC;
    for (let o = 0; o < OC; o++) {
      const row = o * IC;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < IC; i++) {
        const wi = w[row + i];
        s0 += wi * inp[x0 + i];
        s1 += wi * inp[x1 + i];
        s2 += wi * inp[x2 + i];
        s3 += wi * inp[x3 + i];
      }
      const bias = b === null ? 0 : b[o];
      out[t * OC + o] = b === null ? s0 : s0 + bias;
      out[(t + 1) * OC + o] = b === null ? s1 : s1 + bias;
      out[(t + 2) * OC + o] = b === null ? s2 : s2 + bias;
      out[(t + 3) * OC + o] = b === null ? s3 : s3 + bias;
    }
  }
  for (; t < n; t++) {
    const x = t * IC;
    for (let o = 0; o < OC; o++) {
      const row = o * IC;
      let sum = 0;
      for (let i = 0; i < IC; i++) sum += w[row + i] * inp[x + i];
      out[t * OC + o] = b === null ? sum : sum + b[o];
    }
  }
}

/** out (n, D) = inp / sqrt(mean(inp²) + eps) · weight, per row of D (also used per head for q/k norms). */
function rmsnorm(
  out: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  rows: number,
  D: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * D;
    let ss = 0;
    for (let i = 0; i < D; i++) ss += inp[base + i] * inp[base + i];
    // HF rounds the normalised value to the activation dtype before scaling by the weight.
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) out[base + i] = weight[i] * Math.fround(inp[base + i] * inv);
  }
}

/**
 * Rotates x (n, heads, HS) in place for positions pos0..pos0+n−1, HF's rotate_half convention:
 * (x[i], x[i+HS/2]) by angle f32(pos · invFreq[i]).
 */
function rope(
  x: Float32Array,
  n: number,
  heads: number,
  HS: number,
  pos0: number,
  invFreq: Float32Array,
): void {
  const half = HS / 2;
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround((pos0 + t) * invFreq[i]);
      const cos = Math.fround(Math.cos(angle));
      const sin = Math.fround(Math.sin(angle));
      for (let h = 0; h < heads; h++) {
        const base = (t * heads + h) * HS;
        const a = x[base + i];
        const b = x[base + i + half];
        x[base + i] = Math.fround(a * cos) - Math.fround(b * sin);
        x[base + i + half] = Math.fround(b * cos) + Math.fround(a * sin);
      }
    }
  }
}

/**
 * out (n, NH·HS): causal grouped-query attention of queries q (n, NH·HS) at positions
 * pos0..pos0+n−1 over the cached keys/values (maxLen, KVD) of positions 0..pos. Attention is the
 * only op that mixes positions; each query sees exactly its own prefix, in ascending order.
 */
function attention(
  out: Float32Array,
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  n: number,
  pos0: number,
  NH: number,
  NKV: number,
  HS: number,
  scores: Float64Array,
): void {
  const groups = NH / NKV; // HF repeat_kv: query head h reads kv head floor(h / groups)
  const KVD = NKV * HS;
  const scale = 1 / Math.sqrt(HS);
  const acc = new Float64Array(HS);
  for (let t = 0; t < n; t++) {
    const pos = pos0 + t;
    for (let h = 0; h < NH; h++) {
      const qBase = (t * NH + h) * HS;
      const kvOff = Math.floor(h / groups) * HS;
      let max = -Infinity;
      for (let j = 0; j <= pos; j++) {
        const kBase = j * KVD + kvOff;
        let dot = 0;
        for (let i = 0; i < HS; i++) dot += q[qBase + i] * kCache[kBase + i];
        const s = dot * scale;
        scores[j] = s;
        if (s > max) max = s;
      }
      // Subtracting the max only keeps exp in range; it does not change the softmax.
      let denom = 0;
      for (let j = 0; j <= pos; j++) {
        const e = Math.exp(scores[j] - max);
        scores[j] = e;
        denom += e;
      }
      acc.fill(0);
      for (let j = 0; j <= pos; j++) {
        const p = scores[j] / denom;
        const vBase = j * KVD + kvOff;
        for (let i = 0; i < HS; i++) acc[i] += p * vCache[vBase + i];
      }
      for (let i = 0; i < HS; i++) out[qBase + i] = acc[i];
    }
  }
}

/** out (n, FF) = silu(gate) · up, elementwise. */
function swiglu(out: Float32Array, gate: Float32Array, up: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const g = gate[i];
    out[i] = Math.fround(g / (1 + Math.exp(-g))) * up[i];
  }
}

/** x += y, elementwise (a float32 residual add: the f64 sum of two f32 rounds once). */
function residual(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

/** Rows of logits computed together in the proof forward (shares each lm_head row read). */
const LOGIT_ROWS = 4;

/** logsumexp of one row of float32 logits, in float64 (the max is subtracted only for range). */
function logSumExp(logits: Float32Array): number {
  let max = -Infinity;
  for (let v = 0; v < logits.length; v++) if (logits[v] > max) max = logits[v];
  let s = 0;
  for (let v = 0; v < logits.length; v++) s += Math.exp(logits[v] - max);
  return max + Math.log(s);
}

// ---------------------------------------------------------------------------------------------

/** A run of consecutive positions pos0..pos0+n−1 of one sequence, with that sequence's cache. */
interface Segment {
  cache: KvCache;
  tokens: readonly number[];
  pos0: number;
}

/**
 * The forward of several segments at once (N positions in all, segment after segment), appending
 * their K/V to each segment's cache (which must hold positions < pos0 already); returns the
 * hidden states after the final norm (N, C). All ops but attention act on each position alone,
 * so they run over the N rows together; attention runs per segment over its own cache. A
 * position's bits therefore do not depend on the other segments or on how it was grouped.
 */
function forward(
  config: ModelConfig,
  w: CpuWeights,
  invFreq: Float32Array,
  segments: readonly Segment[],
): Float32Array {
  const { hiddenSize: C, intermediateSize: FF, numHeads: NH, numKvHeads: NKV, headDim: HS } =
    config;
  const eps = config.rmsNormEps;
  const n = segments.reduce((a, s) => a + s.tokens.length, 0);
  const QD = NH * HS;
  const KVD = NKV * HS;
  const x = new Float32Array(n * C); // residual stream
  const xn = new Float32Array(n * C);
  const q = new Float32Array(n * QD);
  const k = new Float32Array(n * KVD);
  const v = new Float32Array(n * KVD);
  const att = new Float32Array(n * QD);
  const proj = new Float32Array(n * C);
  const gate = new Float32Array(n * FF);
  const up = new Float32Array(n * FF);
  const scores = new Float64Array(Math.max(...segments.map((s) => s.pos0 + s.tokens.length)));

  let row = 0;
  for (const seg of segments) {
    for (const id of seg.tokens) x.set(w.embed.subarray(id * C, (id + 1) * C), C * row++);
  }
  for (let l = 0; l < config.numLayers; l++) {
    const lw = w.layers[l];
    rmsnorm(xn, x, lw.ln1, n, C, eps);
    matmul(q, xn, lw.wq, lw.bq, n, C, QD);
    matmul(k, xn, lw.wk, lw.bk, n, C, KVD);
    matmul(v, xn, lw.wv, lw.bv, n, C, KVD);
    if (lw.qNorm !== null && lw.kNorm !== null) {
      rmsnorm(q, q, lw.qNorm, n * NH, HS, eps);
      rmsnorm(k, k, lw.kNorm, n * NKV, HS, eps);
    }
    row = 0;
    for (const { cache, tokens, pos0 } of segments) {
      const m = tokens.length;
      const qs = q.subarray(row * QD, (row + m) * QD);
      const ks = k.subarray(row * KVD, (row + m) * KVD);
      rope(qs, m, NH, HS, pos0, invFreq);
      rope(ks, m, NKV, HS, pos0, invFreq);
      cache.k[l].set(ks, pos0 * KVD);
      cache.v[l].set(v.subarray(row * KVD, (row + m) * KVD), pos0 * KVD);
      attention(
        att.subarray(row * QD, (row + m) * QD),
        qs,
        cache.k[l],
        cache.v[l],
        m,
        pos0,
        NH,
        NKV,
        HS,
        scores,
      );
      row += m;
    }
    matmul(proj, att, lw.wo, lw.bo, n, QD, C);
    residual(x, proj);
    rmsnorm(xn, x, lw.ln2, n, C, eps);
    matmul(gate, xn, lw.wGate, null, n, C, FF);
    matmul(up, xn, lw.wUp, null, n, C, FF);
    swiglu(gate, gate, up);
    matmul(proj, gate, lw.wDown, null, n, FF, C);
    residual(x, proj);
  }
  rmsnorm(xn, x, w.norm, n, C, eps);
  return xn;
}

function newCache(config: ModelConfig, maxLen: number): KvCache {
  const KVD = config.numKvHeads * config.headDim;
  const k: Float32Array[] = [];
  const v: Float32Array[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    k.push(new Float32Array(maxLen * KVD));
    v.push(new Float32Array(maxLen * KVD));
  }
  return { k, v, maxLen };
}

/**
 * The CPU implementation of {@link Model} (backend "cpu").
 *
 * @example Proof forward of a tiny random model
 * ```ts
 * import { makeTinyModel } from "./tiny.ts";
 * import { loadCpuModel } from "./cpu_model.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "qwen2", seed: 5, vocabSize: 64, hiddenSize: 32 });
 * const model = await loadCpuModel(dir);
 * const [out] = await model.proofForward([[1, 2, 3]]);
 * model.dispose();
 * await Deno.remove(dir, { recursive: true });
 * if (out.hidden.length !== 3 * 32 || out.nextTokenLogprobs.length !== 2) throw new Error();
 * if (!(out.nextTokenLogprobs[0] < 0)) throw new Error();
 * ```
 */
export class CpuModel implements Model {
  /** The checkpoint's config. */
  readonly config: ModelConfig;
  /** C. */
  readonly hiddenSize: number;
  /** V. */
  readonly vocabSize: number;
  /** Always "cpu". */
  readonly backend: "cpu" = "cpu";
  #weights: CpuWeights | null;
  #invFreq: Float32Array;

  /**
   * Wraps float32 weights (usually built by {@link loadCpuModel}).
   *
   * @param config The model config.
   * @param weights Float32 weights shaped as the config says (see {@link loadCpuModel}).
   */
  constructor(config: ModelConfig, weights: CpuWeights) {
    this.config = config;
    this.hiddenSize = config.hiddenSize;
    this.vocabSize = config.vocabSize;
    this.#weights = weights;
    this.#invFreq = ropeInverseFrequencies(config);
  }

  #w(): CpuWeights {
    if (this.#weights === null) {
      throw new ModelError("disposed", "Cannot run the CPU model: it was disposed");
    }
    return this.#weights;
  }

  #checkTokens(tokens: readonly number[], what: string): void {
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new ModelError(
          "bad_token",
          `Invalid token in ${what}[${i}]: got ${id}, expected an integer in [0, ${this.vocabSize})`,
        );
      }
    }
  }

  /** logits (rows, V) = lm_head · hidden rows row0..row0+rows−1. */
  #logits(out: Float32Array, hidden: Float32Array, row0: number, rows: number): void {
    const C = this.hiddenSize;
    const x = hidden.subarray(row0 * C, (row0 + rows) * C);
    matmul(out, x, this.#w().lmHead, null, rows, C, this.vocabSize);
  }

  /** What a generation session needs from the model. */
  #engine(): Engine {
    return {
      hiddenSize: this.hiddenSize,
      vocabSize: this.vocabSize,
      checkTokens: (tokens, what) => this.#checkTokens(tokens, what),
      forward: (segments) => forward(this.config, this.#w(), this.#invFreq, segments),
      logits: (out, hidden, row0, rows) => this.#logits(out, hidden, row0, rows),
      newCache: (maxLen) => newCache(this.config, maxLen),
    };
  }

  /**
   * The proof forward of each sequence: hidden states after the final norm, next-token
   * log-probs (log-softmax in float64 of the float32 logits), and p(eos) where asked. Logits are
   * computed a few rows at a time and never kept.
   *
   * @param sequences Token ids, each of length ≥ 1.
   * @param options EOS token and positions; sketch coefficients (then each result carries the
   *   protocol's `sketches` of its hidden states).
   * @returns One result per sequence.
   * @throws {ModelError} `bad_token`, `bad_input` (empty sequence, bad EOS position, no or more
   *   sketch coefficients than C), `disposed`.
   */
  proofForward(
    sequences: readonly (readonly number[])[],
    options: ProofForwardOptions = {},
  ): Promise<ProofForwardResult[]> {
    try {
      const k = options.sketchCoefficients?.length;
      if (k !== undefined && (k < 1 || k > this.hiddenSize)) {
        throw new ModelError(
          "bad_input",
          `Invalid sketchCoefficients: got ${k} coefficients, expected 1..${this.hiddenSize} (at most C)`,
        );
      }
      return Promise.resolve(sequences.map((seq, s) => this.#proofOne(seq, s, options)));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #proofOne(seq: readonly number[], s: number, options: ProofForwardOptions): ProofForwardResult {
    const T = seq.length;
    if (T === 0) {
      throw new ModelError(
        "bad_input",
        `Invalid sequences[${s}]: empty, expected at least one token`,
      );
    }
    this.#checkTokens(seq, `sequences[${s}]`);
    const positions = options.eosPositions?.[s];
    let eosId = -1;
    if (positions !== undefined) {
      eosId = options.eosTokenId ?? this.config.eosTokenIds[0] ?? -1;
      if (!Number.isInteger(eosId) || eosId < 0 || eosId >= this.vocabSize) {
        throw new ModelError(
          "bad_input",
          `Invalid eosTokenId: got ${
            eosId === -1 ? "none (config has no eos_token_id)" : eosId
          }, expected an id in [0, ${this.vocabSize})`,
        );
      }
      for (const p of positions) {
        if (!Number.isInteger(p) || p < 0 || p >= T) {
          throw new ModelError(
            "bad_input",
            `Invalid eosPositions[${s}] entry ${p}: expected an integer in [0, ${T})`,
          );
        }
      }
    }
    const hidden = forward(this.config, this.#w(), this.#invFreq, [
      { cache: newCache(this.config, T), tokens: seq, pos0: 0 },
    ]);
    const nextTokenLogprobs = new Float32Array(T - 1);
    const wanted = new Set(positions ?? []);
    const rowsNeeded = wanted.has(T - 1) ? T : T - 1;
    const V = this.vocabSize;
    // Logits LOGIT_ROWS rows at a time: the full [T, V] matrix is never held.
    const block = new Float32Array(LOGIT_ROWS * V);
    const eosProbAt = new Map<number, number>();
    for (let t0 = 0; t0 < rowsNeeded; t0 += LOGIT_ROWS) {
      const rows = Math.min(LOGIT_ROWS, rowsNeeded - t0);
      this.#logits(block, hidden, t0, rows);
      for (let r = 0; r < rows; r++) {
        const t = t0 + r;
        const logits = block.subarray(r * V, (r + 1) * V);
        const lse = logSumExp(logits);
        if (t < T - 1) nextTokenLogprobs[t] = logits[seq[t + 1]] - lse;
        if (wanted.has(t)) eosProbAt.set(t, Math.exp(logits[eosId] - lse));
      }
    }
    const result: ProofForwardResult = { hidden, nextTokenLogprobs };
    if (positions !== undefined) {
      result.eosProbs = Float32Array.from(positions, (p) => eosProbAt.get(p) as number);
    }
    if (options.sketchCoefficients !== undefined) {
      result.sketches = sketches(hidden, this.hiddenSize, options.sketchCoefficients);
    }
    return result;
  }

  /**
   * A KV-cached generation session; rows are independent, and rows with identical prompts share
   * one prefill (the KV cache is copied, giving the same bits as computing it again).
   *
   * @param batch B rows.
   * @param maxLenTokens Positions each row may hold (prompt + generated).
   * @returns The session.
   * @throws {RangeError} For a non-positive batch or length.
   */
  startGeneration(batch: number, maxLenTokens: number): GenerationSession {
    if (!Number.isInteger(batch) || batch <= 0) {
      throw new RangeError(`Invalid batch: got ${batch}, expected a positive integer`);
    }
    if (!Number.isInteger(maxLenTokens) || maxLenTokens <= 0) {
      throw new RangeError(
        `Invalid maxLenTokens: got ${maxLenTokens}, expected a positive integer`,
      );
    }
    this.#w();
    return new CpuGenerationSession(this.#engine(), batch, maxLenTokens);
  }

  /** Frees the weights; later calls throw `ModelError` "disposed". */
  dispose(): void {
    this.#weights = null;
  }
}

/** The model as a generation session uses it. */
interface Engine {
  hiddenSize: number;
  vocabSize: number;
  checkTokens(tokens: readonly number[], what: string): void;
  forward(segments: readonly Segment[]): Float32Array;
  logits(out: Float32Array, hidden: Float32Array, row0: number, rows: number): void;
  newCache(maxLen: number): KvCache;
}

class CpuGenerationSession implements GenerationSession {
  #model: Engine;
  #B: number;
  #maxLen: number;
  #caches: KvCache[] | null = null;
  #lengths: number[] = [];
  #hidden: Float32Array; // (B, C) at each row's last position
  #disposed = false;

  constructor(model: Engine, B: number, maxLen: number) {
    this.#model = model;
    this.#B = B;
    this.#maxLen = maxLen;
    this.#hidden = new Float32Array(B * model.hiddenSize);
  }

  #check(n: number, what: string): void {
    if (this.#disposed) {
      throw new ModelError("disposed", "Cannot use the generation session: it was disposed");
    }
    if (n !== this.#B) {
      throw new ModelError(
        "bad_input",
        `Invalid ${what}: got ${n} rows, the session holds ${this.#B}`,
      );
    }
  }

  prefill(prompts: readonly (readonly number[])[]): Promise<Float32Array> {
    try {
      return Promise.resolve(this.#prefill(prompts));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #prefill(prompts: readonly (readonly number[])[]): Float32Array {
    this.#check(prompts.length, "prompts");
    if (this.#caches !== null) {
      throw new ModelError("state", "Cannot prefill twice: start a new generation session");
    }
    const C = this.#model.hiddenSize;
    for (let b = 0; b < this.#B; b++) {
      const p = prompts[b];
      if (p.length === 0) throw new ModelError("bad_input", `Invalid prompts[${b}]: empty`);
      if (p.length > this.#maxLen) {
        throw new ModelError(
          "cache_full",
          `Invalid prompts[${b}]: ${p.length} tokens, the session holds ${this.#maxLen} per row`,
        );
      }
      this.#model.checkTokens(p, `prompts[${b}]`);
    }
    // A prompt repeated in the batch (a GRPO group) is run once; its rows copy the cache.
    const firstOf = prompts.map((p, b) =>
      prompts.findIndex((q, j) =>
        j <= b && q.length === p.length && q.every((id, i) => id === p[i])
      )
    );
    const distinct = firstOf.filter((f, b) => f === b);
    const caches: KvCache[] = new Array(this.#B);
    for (const b of distinct) caches[b] = this.#model.newCache(this.#maxLen);
    const hidden = this.#model.forward(
      distinct.map((b) => ({ cache: caches[b], tokens: prompts[b], pos0: 0 })),
    );
    let end = 0;
    for (const b of distinct) {
      end += prompts[b].length;
      this.#hidden.set(hidden.subarray((end - 1) * C, end * C), b * C);
    }
    for (let b = 0; b < this.#B; b++) {
      if (firstOf[b] === b) continue;
      const src = caches[firstOf[b]];
      caches[b] = {
        k: src.k.map((a) => a.slice()),
        v: src.v.map((a) => a.slice()),
        maxLen: src.maxLen,
      };
      this.#hidden.copyWithin(b * C, firstOf[b] * C, (firstOf[b] + 1) * C);
    }
    this.#caches = caches;
    this.#lengths = prompts.map((p) => p.length);
    const logits = new Float32Array(this.#B * this.#model.vocabSize);
    this.#model.logits(logits, this.#hidden, 0, this.#B);
    return logits;
  }

  step(tokens: readonly number[]): Promise<Float32Array> {
    try {
      return Promise.resolve(this.#step(tokens));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #step(tokens: readonly number[]): Float32Array {
    this.#check(tokens.length, "tokens");
    if (this.#caches === null) throw new ModelError("state", "Cannot step before prefill");
    this.#model.checkTokens(tokens, "tokens");
    for (let b = 0; b < this.#B; b++) {
      if (this.#lengths[b] >= this.#maxLen) {
        throw new ModelError(
          "cache_full",
          `Cannot append to row ${b}: it holds ${this.#lengths[b]} of ${this.#maxLen} positions`,
        );
      }
    }
    const caches = this.#caches;
    const hidden = this.#model.forward(
      tokens.map((id, b) => ({ cache: caches[b], tokens: [id], pos0: this.#lengths[b] })),
    );
    for (let b = 0; b < this.#B; b++) this.#lengths[b]++;
    this.#hidden.set(hidden);
    const logits = new Float32Array(this.#B * this.#model.vocabSize);
    this.#model.logits(logits, hidden, 0, this.#B);
    return logits;
  }

  lastHidden(): Promise<Float32Array> {
    if (this.#disposed) {
      return Promise.reject(
        new ModelError("disposed", "Cannot use the generation session: it was disposed"),
      );
    }
    return Promise.resolve(this.#hidden.slice());
  }

  dispose(): void {
    this.#disposed = true;
    this.#caches = null;
  }
}

async function loadWeights(ckpt: Checkpoint): Promise<CpuWeights> {
  const c = ckpt.config;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      ln1: await ckpt.readF32(`${p}.input_layernorm.weight`),
      wq: await ckpt.readF32(`${p}.self_attn.q_proj.weight`),
      wk: await ckpt.readF32(`${p}.self_attn.k_proj.weight`),
      wv: await ckpt.readF32(`${p}.self_attn.v_proj.weight`),
      bq: c.attentionBias ? await ckpt.readF32(`${p}.self_attn.q_proj.bias`) : null,
      bk: c.attentionBias ? await ckpt.readF32(`${p}.self_attn.k_proj.bias`) : null,
      bv: c.attentionBias ? await ckpt.readF32(`${p}.self_attn.v_proj.bias`) : null,
      qNorm: c.qkNorm ? await ckpt.readF32(`${p}.self_attn.q_norm.weight`) : null,
      kNorm: c.qkNorm ? await ckpt.readF32(`${p}.self_attn.k_norm.weight`) : null,
      wo: await ckpt.readF32(`${p}.self_attn.o_proj.weight`),
      bo: c.outputBias ? await ckpt.readF32(`${p}.self_attn.o_proj.bias`) : null,
      ln2: await ckpt.readF32(`${p}.post_attention_layernorm.weight`),
      wGate: await ckpt.readF32(`${p}.mlp.gate_proj.weight`),
      wUp: await ckpt.readF32(`${p}.mlp.up_proj.weight`),
      wDown: await ckpt.readF32(`${p}.mlp.down_proj.weight`),
    });
  }
  const embed = await ckpt.readF32("model.embed_tokens.weight");
  return {
    embed,
    layers,
    norm: await ckpt.readF32("model.norm.weight"),
    lmHead: c.tieWordEmbeddings ? embed : await ckpt.readF32("lm_head.weight"),
  };
}

/**
 * Loads a checkpoint folder into a {@link CpuModel} (weights widened to float32, one tensor read
 * at a time).
 *
 * @param dir A Hugging Face checkpoint folder.
 * @returns The model.
 * @throws {CheckpointError} As `openCheckpoint` does.
 *
 * @example
 * ```ts
 * import { makeTinyModel } from "./tiny.ts";
 * import { loadCpuModel } from "./cpu_model.ts";
 * const dir = await Deno.makeTempDir();
 * await makeTinyModel(dir, { architecture: "llama", seed: 1, vocabSize: 32, hiddenSize: 16 });
 * const model = await loadCpuModel(dir);
 * await Deno.remove(dir, { recursive: true });
 * if (model.backend !== "cpu" || model.vocabSize !== 32) throw new Error();
 * ```
 */
export async function loadCpuModel(dir: string): Promise<CpuModel> {
  const ckpt = await openCheckpoint(dir);
  try {
    return new CpuModel(ckpt.config, await loadWeights(ckpt));
  } finally {
    ckpt.close();
  }
}
