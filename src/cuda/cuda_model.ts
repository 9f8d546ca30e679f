/**
 * The CUDA implementation of {@link Model}: weights on one NVIDIA GPU in bf16 (default: the
 * reference miners' numerics — bf16 weights and activations, f32 accumulation, HF's rounding
 * points) or f32, cuBLASLt GEMMs with pinned split-K-free algorithms, NVRTC-compiled kernels for
 * everything else (shaders/cuda), all reached through `Deno.dlopen`.
 *
 * Legend: B batch rows, T positions, C hidden, V vocabulary, L layers, NH query heads, NKV KV
 * heads, HS head size, FF MLP width, R rows per pass, LR logits rows per lm_head chunk.
 *
 * Every token of every sequence is one row; a pass runs up to R rows through all layers, and
 * attention reads keys from a KV cache. Every kernel computes a row from that row alone (GEMMs:
 * one pinned algorithm per weight, no split-K; attention: key tiles aligned to the sequence
 * start), so a sequence's bits do not depend on its batch, on how rows are split into passes, or
 * on whether the proof forward or a generation session runs it.
 *
 * @module
 */

import type { Checkpoint } from "../model/checkpoint.ts";
import type { ModelConfig } from "../model/config.ts";
import {
  checkProofBatch,
  emptyProofResults,
  proofRowGroups,
  storeLogprobs,
} from "../model/batch_rows.ts";
import { ModelError } from "../model/errors.ts";
import type {
  GenerationSession,
  Model,
  ProofForwardOptions,
  ProofForwardResult,
} from "../model/model.ts";
import { ropeInverseFrequencies, ropeTable } from "../model/rope.ts";
import { packRows, type RowSpec } from "./_rows.ts";
import { CudaContext, type CudaGraph, type DeviceBuffer, type KernelArg } from "./context.ts";
import { CudaError } from "./cuda_error.ts";
import { CudaGenerationSession, type SessionOps } from "./cuda_generation.ts";
import { CublasLtGemm, type GemmPlan } from "./gemm.ts";
import {
  ATTENTION_HEAD_SIZES,
  ATTENTION_QUERIES_PER_BLOCK,
  ATTENTION_TC_QUERIES_PER_BLOCK,
  type CudaPrecision,
  kernelEntries,
  kernelProgram,
  THREADS,
} from "./kernels_source.ts";
import { CudaCandidates } from "./sample.ts";
import {
  CUDA_SKETCH_MAX_K,
  CUDA_SKETCH_PARAM_WORDS,
  CudaSketch,
  cudaSketchParams,
} from "./sketch.ts";
import { SessionDevice } from "./_session_device.ts";

/** Options of {@link CudaModel.load}. */
export interface CudaModelOptions {
  /** "bf16" (default): bf16 weights and activations, f32 accumulation; "f32": f32 everywhere. */
  precision?: CudaPrecision;
  /** R: rows per pass (default 4096). Activation memory scales with it. */
  maxRowsPerPass?: number;
  /** LR: rows per lm_head chunk (default min(R, 1024)); the logits buffer is LR × V f32. */
  maxLogitsRows?: number;
  /** KV rows of the proof forward's cache (longest sequence group); default min(maxPos, 16384). */
  proofCapacityTokens?: number;
  /** Device ordinal (default 0). */
  device?: number;
  /** A folder tried first when opening the CUDA libraries (default: `GRAIL_CUDA_LIB_DIR`). */
  libDir?: string;
  /** Time every op with events (synchronises after each; see {@link CudaModel.profile}). */
  profile?: boolean;
  /** Replay generation steps as a captured CUDA graph (default true; same bits either way). */
  graphs?: boolean;
}

interface LayerWeights {
  inNorm: DeviceBuffer;
  qkv: DeviceBuffer;
  qkvBias: DeviceBuffer | null;
  qNorm: DeviceBuffer | null;
  kNorm: DeviceBuffer | null;
  o: DeviceBuffer;
  oBias: DeviceBuffer | null;
  postNorm: DeviceBuffer;
  gateUp: DeviceBuffer;
  down: DeviceBuffer;
}

interface Weights {
  embed: DeviceBuffer;
  lmHead: DeviceBuffer;
  finalNorm: DeviceBuffer;
  layers: LayerWeights[];
  cos: DeviceBuffer;
  sin: DeviceBuffer;
}

interface Activations {
  tokens: DeviceBuffer;
  meta: DeviceBuffer;
  blocks: DeviceBuffer;
  targets: DeviceBuffer;
  lpOut: DeviceBuffer;
  x: DeviceBuffer;
  d: DeviceBuffer;
  hn: DeviceBuffer;
  qkv: DeviceBuffer;
  q: DeviceBuffer;
  att: DeviceBuffer;
  gu: DeviceBuffer;
  h: DeviceBuffer;
  fin: DeviceBuffer;
  fin32: DeviceBuffer;
  oAcc: DeviceBuffer | null;
  logits: DeviceBuffer;
  /** [7 + k] u32: sketch thresholds and coefficients (see `cudaSketchParams`). */
  sketchParams: DeviceBuffer;
  /** [R] u32: a pass's sketches. */
  sketchOut: DeviceBuffer;
}

interface Plans {
  qkv: GemmPlan;
  o: GemmPlan;
  gateUp: GemmPlan;
  down: GemmPlan;
  lm: GemmPlan;
}

/** A KV cache: K and V of every layer, [capacity, NKV HS] each. */
export interface CudaKvCache {
  /** Rows per layer. */
  capacity: number;
  /** K of each layer. */
  k: DeviceBuffer[];
  /** V of each layer. */
  v: DeviceBuffer[];
}

const NONE = -1;
/** Elements per f32 staging chunk when converting weights to bf16 on the device. */
const STAGE_ELEMENTS = 1 << 24;

/**
 * A causal LM on one CUDA device.
 *
 * @example Proof forward of a tiny model (skipped where there is no CUDA device)
 * ```ts
 * import { makeTinyModel } from "../model/tiny.ts";
 * import { openCheckpoint } from "../model/checkpoint.ts";
 * import { hasCudaDevice } from "./context.ts";
 * import { CudaModel } from "./cuda_model.ts";
 * if (hasCudaDevice()) {
 *   const dir = await Deno.makeTempDir();
 *   await makeTinyModel(dir, { architecture: "qwen3", seed: 1 });
 *   const ckpt = await openCheckpoint(dir);
 *   const model = await CudaModel.load(ckpt);
 *   ckpt.close();
 *   const [r] = await model.proofForward([[1, 2, 3]]);
 *   model.dispose();
 *   await Deno.remove(dir, { recursive: true });
 *   if (r.hidden.length !== 3 * model.hiddenSize || r.nextTokenLogprobs.length !== 2) throw new Error();
 * }
 * ```
 */
export class CudaModel implements Model {
  /** The checkpoint's config. */
  readonly config: ModelConfig;
  /** C. */
  readonly hiddenSize: number;
  /** V. */
  readonly vocabSize: number;
  /** Always "cuda". */
  readonly backend: "cuda" = "cuda";
  /** Weight and activation precision. */
  readonly precision: CudaPrecision;
  /** The device context (owned: destroyed by dispose). */
  readonly context: CudaContext;
  /** The cuBLASLt wrapper (owned). */
  readonly gemm: CublasLtGemm;
  /** R. */
  readonly maxRowsPerPass: number;
  /** LR. */
  readonly maxLogitsRows: number;
  /** KV rows of the proof forward's cache. */
  readonly proofCapacityTokens: number;
  readonly #fn: Map<string, Deno.PointerObject>;
  readonly #w: Weights;
  readonly #a: Activations;
  readonly #plans: Plans;
  readonly #elt: number;
  readonly #prof: Map<string, number> | null;
  readonly #graphs: boolean;
  readonly #sampler: CudaCandidates;
  readonly #sketch: CudaSketch;
  /** Page-locked staging of a pass's f32 final hidden states (fast DMA), made on first use. */
  #hiddenHost: Float32Array | null = null;
  #proofKv: CudaKvCache | null = null;
  #sessions = new Set<CudaGenerationSession>();
  #disposed = false;

  private constructor(
    ctx: CudaContext,
    gemm: CublasLtGemm,
    config: ModelConfig,
    precision: CudaPrecision,
    fn: Map<string, Deno.PointerObject>,
    w: Weights,
    sizes: { rows: number; logitsRows: number; proofCapacity: number },
    profile: boolean,
    graphs: boolean,
  ) {
    this.context = ctx;
    this.#prof = profile ? new Map() : null;
    this.#graphs = graphs;
    this.gemm = gemm;
    this.config = config;
    this.hiddenSize = config.hiddenSize;
    this.vocabSize = config.vocabSize;
    this.precision = precision;
    this.#fn = fn;
    this.#sampler = new CudaCandidates(ctx, fn);
    this.#sketch = new CudaSketch(ctx, fn);
    this.#w = w;
    this.maxRowsPerPass = sizes.rows;
    this.maxLogitsRows = sizes.logitsRows;
    this.proofCapacityTokens = sizes.proofCapacity;
    const e = this.#elt = precision === "bf16" ? 2 : 4;
    const { hiddenSize: C, intermediateSize: FF, numHeads: NH, numKvHeads: NKV, headDim: HS } =
      config;
    const R = sizes.rows;
    const QKVW = (NH + 2 * NKV) * HS;
    const act = precision;
    this.#a = {
      tokens: ctx.alloc(R * 4, "tokens"),
      meta: ctx.alloc(R * 8, "rows-meta"),
      blocks: ctx.alloc(R * 16, "attention-blocks"),
      targets: ctx.alloc(R * 8, "targets"),
      lpOut: ctx.alloc(R * 8, "logprob-out"),
      x: ctx.alloc(R * C * e, "x"),
      d: ctx.alloc(R * C * e, "block-out"),
      hn: ctx.alloc(R * C * e, "normed"),
      qkv: ctx.alloc(R * QKVW * 4, "qkv-f32"),
      q: ctx.alloc(R * NH * HS * e, "q"),
      att: ctx.alloc(R * NH * HS * e, "attention-out"),
      gu: ctx.alloc(R * 2 * FF * e, "gate-up"),
      h: ctx.alloc(R * FF * e, "mlp-h"),
      fin: ctx.alloc(R * C * e, "final-hidden"),
      fin32: ctx.alloc(R * C * 4, "final-hidden-f32"),
      oAcc: config.outputBias ? ctx.alloc(R * C * 4, "o-acc-f32") : null,
      logits: ctx.alloc(sizes.logitsRows * config.vocabSize * 4, "logits"),
      sketchParams: ctx.alloc(CUDA_SKETCH_PARAM_WORDS * 4, "sketch-params"),
      sketchOut: ctx.alloc(R * 4, "sketch-out"),
    };
    const plan = (n: number, k: number, output: CudaPrecision, mRef = R) =>
      gemm.plan({ n, k, input: act, output, mRef });
    this.#plans = {
      qkv: plan(QKVW, C, "f32"),
      o: plan(C, NH * HS, config.outputBias ? "f32" : act),
      gateUp: plan(2 * FF, C, act),
      down: plan(C, FF, act),
      lm: plan(config.vocabSize, C, "f32", sizes.logitsRows),
    };
  }

  /**
   * Creates a context on the device, compiles the kernels for it, and uploads a checkpoint
   * tensor by tensor (bf16 tensors of a bf16 model go up as they are; others are widened to f32
   * and, for bf16, rounded on the device in bounded chunks).
   *
   * @param ckpt An open checkpoint (the caller closes it).
   * @param options Precision, pass sizes, device.
   * @returns The model; call `dispose()` when done.
   * @throws {CudaError} No driver/device/library, a kernel that does not compile, a head size
   *   with no attention kernel (code "shape"), bf16 below compute capability 8.0 (code
   *   "unsupported"), out of memory.
   * @throws {RangeError} For invalid sizes.
   */
  static async load(ckpt: Checkpoint, options: CudaModelOptions = {}): Promise<CudaModel> {
    const config = ckpt.config;
    const precision = options.precision ?? "bf16";
    if (precision !== "bf16" && precision !== "f32") {
      throw new RangeError(
        `Invalid precision ${JSON.stringify(precision)}: expected "bf16" or "f32"`,
      );
    }
    const { hiddenSize: C, numHeads: NH, numKvHeads: NKV, headDim: HS } = config;
    if (!ATTENTION_HEAD_SIZES.includes(HS)) {
      throw new CudaError(
        "shape",
        `No CUDA attention kernel for head_dim ${HS}: expected one of ${
          ATTENTION_HEAD_SIZES.join(", ")
        }; use the WebGPU backend for this model`,
      );
    }
    if (NH % NKV !== 0) {
      throw new CudaError(
        "shape",
        `num_attention_heads ${NH} is not a multiple of num_key_value_heads ${NKV}`,
      );
    }
    const rows = options.maxRowsPerPass ?? 4096;
    if (!Number.isInteger(rows) || rows < 1) {
      throw new RangeError(
        `Invalid maxRowsPerPass: got ${options.maxRowsPerPass}, expected a positive integer`,
      );
    }
    const logitsRows = Math.min(options.maxLogitsRows ?? 1024, rows);
    const e = precision === "bf16" ? 2 : 4;
    if (!Number.isInteger(logitsRows) || logitsRows < 1 || (logitsRows * C * e) % 256 !== 0) {
      // cuBLASLt's algorithms are chosen for 256-byte aligned operands; lm_head chunks start at
      // row multiples of LR.
      if (logitsRows !== rows) {
        throw new RangeError(
          `Invalid maxLogitsRows: got ${options.maxLogitsRows}, expected a positive integer with LR × C × ${e} a multiple of 256 (e.g. a multiple of 128)`,
        );
      }
    }
    const proofCapacity = options.proofCapacityTokens ??
      Math.min(config.maxPositionEmbeddings, 16384);
    if (!Number.isInteger(proofCapacity) || proofCapacity < 1) {
      throw new RangeError(
        `Invalid proofCapacityTokens: got ${proofCapacity}, expected a positive integer`,
      );
    }
    const ctx = CudaContext.create({ device: options.device, libDir: options.libDir });
    let gemm: CublasLtGemm | null = null;
    try {
      if (precision === "bf16" && ctx.computeCapability[0] < 8) {
        // bf16 tensor-core MMA (attention_tc.cu) and cuBLASLt's bf16 GEMMs need sm_80 or newer.
        throw new CudaError(
          "unsupported",
          `Cannot run bf16 on ${ctx.name} (compute capability ${
            ctx.computeCapability.join(".")
          }): bf16 needs 8.0 or newer; load with precision "f32"`,
        );
      }
      const { source, defines } = kernelProgram(precision);
      const mod = ctx.loadModule(source, kernelEntries(precision), defines);
      const fn = new Map(mod.functions);
      gemm = CublasLtGemm.create(ctx, { libDir: options.libDir });
      const w = await uploadWeights(ctx, fn, ckpt, precision);
      return new CudaModel(
        ctx,
        gemm,
        config,
        precision,
        fn,
        w,
        {
          rows,
          logitsRows,
          proofCapacity,
        },
        options.profile === true,
        options.graphs !== false,
      );
    } catch (err) {
      gemm?.destroy();
      ctx.destroy();
      throw err;
    }
  }

  /**
   * The pinned cuBLASLt algorithms, one per weight GEMM (for benchmark reports).
   *
   * @returns Plans by GEMM: qkv, o, gateUp, down, lm.
   */
  gemmPlans(): Record<string, GemmPlan> {
    return { ...this.#plans };
  }

  /**
   * GPU milliseconds per op family since the last reset (load with `profile: true`; each op is
   * then timed with events and synchronised, so wall time grows).
   *
   * @returns Milliseconds by op family (empty when not profiling).
   */
  profile(): Map<string, number> {
    return new Map(this.#prof ?? []);
  }

  /** Clears the profile totals. */
  resetProfile(): void {
    this.#prof?.clear();
  }

  /** Queues `fn`; in profile mode, times it with events and adds it to `label`'s total. */
  #op(label: string, fn: () => void): void {
    if (!this.#prof) return fn();
    const ms = this.context.time(fn);
    this.#prof.set(label, (this.#prof.get(label) ?? 0) + ms);
  }

  #check(): void {
    if (this.#disposed) {
      throw new ModelError("disposed", "Cannot use the CUDA model: it was disposed");
    }
  }

  #launch(
    name: string,
    grid: [number, number, number],
    block: number,
    args: KernelArg[],
  ): void {
    this.context.launch(this.#fn.get(name)!, grid, [block, 1, 1], args, name);
  }

  #launchNorm(n: number, args: KernelArg[]): void {
    this.#launch("rmsnorm_residual", [n, 1, 1], THREADS.norm, args);
  }

  /** Allocates a KV cache of `capacity` rows per layer. */
  #kvCache(capacity: number, label: string): CudaKvCache {
    const { numKvHeads: NKV, headDim: HS, numLayers: L } = this.config;
    const bytes = capacity * NKV * HS * this.#elt;
    const kv: CudaKvCache = { capacity, k: [], v: [] };
    try {
      for (let l = 0; l < L; l++) {
        kv.k.push(this.context.alloc(bytes, `${label}-k${l}`));
        kv.v.push(this.context.alloc(bytes, `${label}-v${l}`));
      }
    } catch (e) {
      this.#releaseKv(kv);
      throw e;
    }
    return kv;
  }

  #releaseKv(kv: CudaKvCache): void {
    for (const b of [...kv.k, ...kv.v]) this.context.free(b);
    kv.k.length = 0;
    kv.v.length = 0;
  }

  /** Queues up to R rows through the model (see `#launchForward`). */
  #forward(kv: CudaKvCache, rows: readonly RowSpec[]): void {
    const { n, nBlocks } = this.#stage(kv, rows);
    this.#launchForward(kv, n, nBlocks);
  }

  /**
   * Checks rows against the model and the cache, and uploads their metadata (and tokens, unless
   * the device already wrote them: greedy steps).
   */
  #stage(
    kv: CudaKvCache,
    rows: readonly RowSpec[],
    uploadTokens = true,
  ): { n: number; nBlocks: number } {
    const n = rows.length;
    const maxPos = this.config.maxPositionEmbeddings;
    for (const r of rows) {
      if (r.pos >= maxPos) {
        throw new ModelError(
          "bad_input",
          `Position ${r.pos} is beyond the model's ${maxPos} positions (max_position_embeddings)`,
        );
      }
      if (r.kvRow >= kv.capacity) {
        throw new ModelError(
          "cache_full",
          `KV row ${r.kvRow} is beyond the cache's ${kv.capacity} rows`,
        );
      }
    }
    // bf16: tensor-core attention (bf16 operands, as the reference's SDPA); f32: the f32 kernel.
    const tc = this.precision === "bf16";
    const packed = packRows(
      rows,
      tc ? ATTENTION_TC_QUERIES_PER_BLOCK : ATTENTION_QUERIES_PER_BLOCK,
    );
    const a = this.#a;
    if (uploadTokens) this.context.upload(a.tokens, packed.tokens);
    this.context.upload(a.meta, packed.meta);
    this.context.upload(a.blocks, packed.blocks);
    return { n, nBlocks: packed.blocks.length / 4 };
  }

  /**
   * Queues n staged rows (see `#stage`) through embedding, every layer and the final norm:
   * `fin` (activation dtype) and `fin32` (f32) then hold their final hidden states. Device work
   * only, so a generation step can be captured as a CUDA graph.
   */
  #launchForward(kv: CudaKvCache, n: number, nBlocks: number): void {
    const a = this.#a;
    const w = this.#w;
    const p = this.#plans;
    const cfg = this.config;
    const { hiddenSize: C, intermediateSize: FF, numHeads: NH, numKvHeads: NKV, headDim: HS } = cfg;
    const eps = cfg.rmsNormEps;
    const tc = this.precision === "bf16";
    const EW = THREADS.elementwise;
    const ptr = (b: DeviceBuffer | null) => ({ ptr: b });
    const i32 = (v: number) => ({ i32: v });
    const f32 = (v: number) => ({ f32: v });
    this.#op("embedding", () =>
      this.#launch("embedding_gather", [Math.ceil(C / EW), n, 1], EW, [
        ptr(a.x),
        ptr(w.embed),
        ptr(a.tokens),
        i32(C),
      ]));
    const residualNorm = (weight: DeviceBuffer, out: DeviceBuffer, out32: DeviceBuffer | null) =>
      this.#op("rmsnorm", () =>
        this.#launchNorm(n, [
          ptr(a.x),
          ptr(a.d),
          ptr(weight),
          ptr(out),
          ptr(out32),
          i32(C),
          f32(eps),
        ]));
    const attention = tc ? `attention_tc_hs${HS}` : `attention_causal_hs${HS}`;
    const scale = 1 / Math.sqrt(HS);
    for (let l = 0; l < cfg.numLayers; l++) {
      const lw = w.layers[l];
      if (l === 0) {
        this.#op("rmsnorm", () =>
          this.#launch("rmsnorm_rows", [n, 1, 1], THREADS.norm, [
            ptr(a.x),
            ptr(lw.inNorm),
            ptr(a.hn),
            i32(C),
            f32(eps),
          ]));
      } else {
        residualNorm(lw.inNorm, a.hn, null);
      }
      this.#op("gemm_qkv", () => this.gemm.run(p.qkv, n, a.hn, lw.qkv, a.qkv));
      this.#op(
        "rope",
        () =>
          this.#launch(
            "rope_qkv",
            [Math.ceil((NH + 2 * NKV) / (THREADS.rope / 32)), n, 1],
            THREADS.rope,
            [
              ptr(a.qkv),
              ptr(lw.qkvBias),
              ptr(lw.qNorm),
              ptr(lw.kNorm),
              ptr(w.cos),
              ptr(w.sin),
              ptr(a.meta),
              ptr(a.q),
              ptr(kv.k[l]),
              ptr(kv.v[l]),
              i32(NH),
              i32(NKV),
              i32(HS),
              i32(lw.qkvBias ? 1 : 0),
              i32(cfg.qkNorm ? 1 : 0),
              f32(eps),
            ],
          ),
      );
      this.#op("attention", () =>
        this.#launch(attention, [nBlocks, NH, 1], THREADS.attention, [
          ptr(a.q),
          ptr(kv.k[l]),
          ptr(kv.v[l]),
          ptr(a.blocks),
          ptr(a.att),
          i32(NH),
          i32(NKV),
          f32(scale),
        ]));
      if (lw.oBias && a.oAcc) {
        this.gemm.run(p.o, n, a.att, lw.o, a.oAcc);
        this.#launch("bias_add_rows", [Math.ceil(C / EW), n, 1], EW, [
          ptr(a.d),
          ptr(a.oAcc),
          ptr(lw.oBias),
          i32(C),
        ]);
      } else {
        this.#op("gemm_o", () => this.gemm.run(p.o, n, a.att, lw.o, a.d));
      }
      residualNorm(lw.postNorm, a.hn, null);
      this.#op("gemm_gate_up", () => this.gemm.run(p.gateUp, n, a.hn, lw.gateUp, a.gu));
      this.#op(
        "swiglu",
        () =>
          FF % 2 === 0
            ? this.#launch("swiglu_rows2", [Math.ceil(FF / (2 * EW)), n, 1], EW, [
              ptr(a.h),
              ptr(a.gu),
              i32(FF),
            ])
            : this.#launch("swiglu_rows", [Math.ceil(FF / EW), n, 1], EW, [
              ptr(a.h),
              ptr(a.gu),
              i32(FF),
            ]),
      );
      this.#op("gemm_down", () => this.gemm.run(p.down, n, a.h, lw.down, a.d));
    }
    residualNorm(w.finalNorm, a.fin, a.fin32);
  }

  /**
   * Queues lm_head + log-softmax for rows [0, n) of `fin` (targets already uploaded), in chunks
   * of LR rows; results land in lpOut[0..2n).
   */
  #logprobs(n: number): void {
    const C = this.hiddenSize;
    const a = this.#a;
    for (let b0 = 0; b0 < n; b0 += this.maxLogitsRows) {
      const nb = Math.min(this.maxLogitsRows, n - b0);
      this.#op("gemm_lm_head", () =>
        this.gemm.run(
          this.#plans.lm,
          nb,
          a.fin.ptr + BigInt(b0 * C * this.#elt),
          this.#w.lmHead,
          a.logits,
        ));
      this.#op("logprob", () =>
        this.#launch("logprob_rows", [nb, 1, 1], THREADS.logprob, [
          { ptr: a.lpOut.ptr + BigInt(b0 * 8) },
          { ptr: a.logits },
          { ptr: a.targets.ptr + BigInt(b0 * 8) },
          { i32: this.vocabSize },
        ]));
    }
  }

  /**
   * The proof forward: per sequence, the final hidden states (f32 copies of the activation
   * dtype's values), the log-probs of each next token from f32 logits, and EOS probabilities
   * where asked. Sequences are packed into passes of R rows; results do not depend on the
   * packing.
   *
   * @param sequences Token sequences (each non-empty, ids in [0, V)).
   * @param options EOS token and positions; sketch coefficients (each result then carries the
   *   protocol sketch of every position, computed on the device from the f32 final hidden states
   *   the result holds: `sketch.cu`, bit-exact with the protocol's `sketches`).
   * @returns One result per sequence.
   * @throws {ModelError} bad_token, bad_input (empty sequence, one longer than the proof cache,
   *   bad EOS position, no or more than min(32, C) sketch coefficients), disposed.
   */
  proofForward(
    sequences: readonly (readonly number[])[],
    options: ProofForwardOptions = {},
  ): Promise<ProofForwardResult[]> {
    try {
      return Promise.resolve(this.#proofForward(sequences, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #proofForward(
    sequences: readonly (readonly number[])[],
    options: ProofForwardOptions,
  ): ProofForwardResult[] {
    this.#check();
    const C = this.hiddenSize;
    const eosPositions = options.eosPositions;
    const eosId = checkProofBatch(
      sequences,
      options,
      this.vocabSize,
      this.proofCapacityTokens,
      this.config.eosTokenIds[0],
    );
    const coeffs = options.sketchCoefficients;
    if (coeffs !== undefined) {
      const kMax = Math.min(CUDA_SKETCH_MAX_K, C);
      if (coeffs.length < 1 || coeffs.length > kMax) {
        throw new ModelError(
          "bad_input",
          `Invalid sketchCoefficients: got ${coeffs.length} coefficients, expected 1..${kMax}`,
        );
      }
    }
    this.#proofKv ??= this.#kvCache(this.proofCapacityTokens, "proof");
    const kv = this.#proofKv;
    const results = emptyProofResults(sequences, C, eosPositions, coeffs !== undefined);
    const ctx = this.context;
    if (coeffs) ctx.upload(this.#a.sketchParams, cudaSketchParams(coeffs));
    // Inside a group of sequences that fit the cache, passes of R rows.
    for (const rows of proofRowGroups(sequences, kv.capacity, eosPositions, eosId, NONE)) {
      for (let r0 = 0; r0 < rows.length; r0 += this.maxRowsPerPass) {
        const chunk = rows.slice(r0, r0 + this.maxRowsPerPass);
        const n = chunk.length;
        const targets = new Int32Array(2 * n);
        chunk.forEach((r, i) => {
          targets[2 * i] = r.target;
          targets[2 * i + 1] = r.eos;
        });
        ctx.upload(this.#a.targets, targets);
        this.#forward(kv, chunk);
        if (coeffs) {
          this.#op("sketch", () =>
            this.#sketch.launch(
              this.#a.fin32,
              this.#a.sketchParams,
              this.#a.sketchOut,
              n,
              C,
              coeffs.length,
            ));
        }
        this.#hiddenHost ??= new Float32Array(
          ctx.allocHost(this.maxRowsPerPass * C * 4).buffer,
        );
        const staged = this.#hiddenHost.subarray(0, n * C);
        // The hidden states travel on the copy stream while lm_head and log-softmax run, and
        // the host spreads them into the results meanwhile.
        ctx.downloadBehind(staged, this.#a.fin32);
        this.#logprobs(n);
        // Each sequence's rows are contiguous in the pass. Fresh result arrays cost a page fault
        // per 4 KiB on first write: take those faults now, while the GPU is still busy.
        const runs: [number, number][] = [];
        for (let i = 0; i < n;) {
          let j = i;
          while (j + 1 < n && chunk[j + 1].seq === chunk[i].seq) j++;
          runs.push([i, j]);
          const r = chunk[i];
          results[r.seq].hidden.fill(0, r.pos * C, (r.pos + j - i + 1) * C);
          i = j + 1;
        }
        ctx.syncCopies();
        for (const [i, j] of runs) {
          const r = chunk[i];
          results[r.seq].hidden.set(staged.subarray(i * C, (j + 1) * C), r.pos * C);
        }
        const lp = new Float32Array(2 * n);
        ctx.download(lp, this.#a.lpOut);
        if (coeffs) {
          const sk = new Uint32Array(n);
          ctx.download(sk, this.#a.sketchOut);
          chunk.forEach((r, i) => results[r.seq].sketches![r.pos] = sk[i]);
        }
        storeLogprobs(results, chunk, lp, eosPositions, NONE);
      }
    }
    return results;
  }

  /**
   * A KV-cached generation session of `batch` rows, up to `maxLenTokens` positions each. Its
   * rows run through the same kernels and pinned GEMM algorithms as the proof forward, so a
   * generated position's hidden state equals the proof forward's bit for bit.
   *
   * @param batch B (at most R).
   * @param maxLenTokens Positions per row (prompt + completion).
   * @returns The session.
   * @throws {RangeError} On a non-positive size or B > R.
   */
  startGeneration(batch: number, maxLenTokens: number): GenerationSession {
    this.#check();
    for (const [name, v] of [["batch", batch], ["maxLenTokens", maxLenTokens]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`Invalid ${name}: got ${v}, expected a positive integer`);
      }
    }
    if (batch > this.maxRowsPerPass) {
      throw new RangeError(
        `Invalid batch: got ${batch}, expected at most ${this.maxRowsPerPass} (rows per pass)`,
      );
    }
    const ctx = this.context;
    const C = this.hiddenSize;
    const kv = this.#kvCache(batch * maxLenTokens, "session");
    let last: DeviceBuffer | null = null;
    let hidden: DeviceBuffer | null = null;
    try {
      last = ctx.alloc(batch * C * this.#elt, "session-last");
      hidden = ctx.alloc(batch * C * 4, "session-hidden");
    } catch (e) {
      if (last) ctx.free(last);
      this.#releaseKv(kv);
      throw e;
    }
    const lastBuf = last, hiddenBuf = hidden;
    const rowBytes = this.config.numKvHeads * this.config.headDim * this.#elt;
    // A decode step always has the same shape (B rows, one block each, identity copies), so
    // its launches are captured once as a CUDA graph and replayed: one launch per step instead
    // of hundreds. Same kernels, same arguments, same bits.
    let stepGraph: CudaGraph | null = null;
    const runRows = (
      rows: readonly RowSpec[],
      copies: readonly [number, number][],
      reusable: boolean,
      uploadTokens = true,
    ) => {
      const { n, nBlocks } = this.#stage(kv, rows, uploadTokens);
      const work = () => {
        this.#launchForward(kv, n, nBlocks);
        for (const [from, to] of copies) {
          ctx.copy(lastBuf, to * C * this.#elt, this.#a.fin, from * C * this.#elt, C * this.#elt);
          ctx.copy(hiddenBuf, to * C * 4, this.#a.fin32, from * C * 4, C * 4);
        }
      };
      if (!reusable || this.#prof || !this.#graphs) return work();
      stepGraph ??= ctx.capture(work);
      ctx.launchGraph(stepGraph);
    };
    const device = new SessionDevice(this, batch, maxLenTokens, {
      sampler: this.#sampler,
      lmHead: (out) => this.#lmHead(lastBuf, batch, out),
      logprobs: (out, logits, rows) => this.#launchLogprobs(out, logits, rows),
      runRows,
      tokens: this.#a.tokens,
      targets: this.#a.targets,
    });
    const ops: SessionOps = {
      check: () => this.#check(),
      vocabSize: this.vocabSize,
      maxRowsPerPass: this.maxRowsPerPass,
      run: runRows,
      copyKvRows: (fromRow, toRow, count) => {
        for (const b of [...kv.k, ...kv.v]) {
          ctx.copy(b, toRow * rowBytes, b, fromRow * rowBytes, count * rowBytes);
        }
      },
      logits: (n) => this.#lastLogits(lastBuf, n),
      hidden: (n) => {
        const out = new Float32Array(n * C);
        ctx.download(out, hiddenBuf);
        return out;
      },
      device,
    };
    const session = new CudaGenerationSession(ops, batch, maxLenTokens, () => {
      if (stepGraph) ctx.destroyGraph(stepGraph);
      device.free();
      this.#releaseKv(kv);
      ctx.free(lastBuf);
      ctx.free(hiddenBuf);
      this.#sessions.delete(session);
    });
    this.#sessions.add(session);
    return session;
  }

  /**
   * Queues lm_head of rows [0, n) of `last` into `out` ([n, V] f32), in chunks of LR rows; a
   * chunk not starting at row 0 goes through the model's logits buffer (GEMM operands stay
   * aligned as the pinned algorithms assume).
   */
  #lmHead(last: DeviceBuffer, n: number, out: DeviceBuffer): void {
    const V = this.vocabSize;
    const C = this.hiddenSize;
    for (let b0 = 0; b0 < n; b0 += this.maxLogitsRows) {
      const nb = Math.min(this.maxLogitsRows, n - b0);
      const x = last.ptr + BigInt(b0 * C * this.#elt);
      if (b0 === 0) {
        this.gemm.run(this.#plans.lm, nb, x, this.#w.lmHead, out);
      } else {
        this.gemm.run(this.#plans.lm, nb, x, this.#w.lmHead, this.#a.logits);
        this.context.copy(out, b0 * V * 4, this.#a.logits, 0, nb * V * 4);
      }
    }
  }

  /** Queues the log-prob kernel over `rows` rows of `logits` (targets in the model's buffer). */
  #launchLogprobs(out: DeviceBuffer | bigint, logits: DeviceBuffer, rows: number): void {
    this.#launch("logprob_rows", [rows, 1, 1], THREADS.logprob, [
      { ptr: out },
      { ptr: logits },
      { ptr: this.#a.targets },
      { i32: this.vocabSize },
    ]);
  }

  /** Full f32 logits [n, V] of rows [0, n) of `last`, in chunks of LR rows. */
  #lastLogits(last: DeviceBuffer, n: number): Float32Array {
    const V = this.vocabSize;
    const C = this.hiddenSize;
    const out = new Float32Array(n * V);
    for (let b0 = 0; b0 < n; b0 += this.maxLogitsRows) {
      const nb = Math.min(this.maxLogitsRows, n - b0);
      this.gemm.run(
        this.#plans.lm,
        nb,
        last.ptr + BigInt(b0 * C * this.#elt),
        this.#w.lmHead,
        this.#a.logits,
      );
      this.context.download(out.subarray(b0 * V, (b0 + nb) * V), this.#a.logits);
    }
    return out;
  }

  /** Frees the weights, caches, sessions and the device context. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const s of [...this.#sessions]) s.dispose();
    this.gemm.destroy();
    this.context.destroy();
  }
}

/** Uploads every tensor the forward reads; bf16 conversion happens on the device. */
async function uploadWeights(
  ctx: CudaContext,
  fn: Map<string, Deno.PointerObject>,
  ckpt: Checkpoint,
  precision: CudaPrecision,
): Promise<Weights> {
  const config = ckpt.config;
  const { hiddenSize: C, intermediateSize: FF, numHeads: NH, numKvHeads: NKV, headDim: HS } =
    config;
  const V = config.vocabSize;
  const e = precision === "bf16" ? 2 : 4;
  let stage: DeviceBuffer | null = null;
  const writeTensor = async (dst: DeviceBuffer, offsetElems: number, name: string) => {
    const info = ckpt.tensors.get(name);
    if (precision === "bf16" && info?.dtype === "BF16") {
      const raw = await ckpt.readRaw(name);
      ctx.upload(dst, raw, offsetElems * 2);
      return raw.byteLength / 2;
    }
    const data = await ckpt.readF32(name);
    if (precision === "f32") {
      ctx.upload(dst, data, offsetElems * 4);
      return data.length;
    }
    stage ??= ctx.alloc(STAGE_ELEMENTS * 4, "weight-staging");
    for (let i = 0; i < data.length; i += STAGE_ELEMENTS) {
      const part = data.subarray(i, Math.min(data.length, i + STAGE_ELEMENTS));
      ctx.upload(stage, part);
      ctx.launch(fn.get("convert_f32_to_bf16")!, [Math.ceil(part.length / 256), 1, 1], [
        256,
        1,
        1,
      ], [
        { ptr: dst.ptr + BigInt((offsetElems + i) * 2) },
        { ptr: stage },
        { i64: part.length },
      ], "convert_f32_to_bf16");
      // The staging buffer is reused by the next part: wait for the conversion.
      ctx.sync();
    }
    return data.length;
  };
  const matrix = async (rows: number, cols: number, names: string[], label: string) => {
    const buf = ctx.alloc(rows * cols * e, label);
    let at = 0;
    for (const n of names) at += await writeTensor(buf, at, n);
    if (at !== rows * cols) {
      throw new CudaError(
        "shape",
        `${label}: tensors ${names.join(", ")} hold ${at} values, expected ${rows} × ${cols}`,
      );
    }
    return buf;
  };
  const vector = async (names: string[], label: string) => {
    const parts: Float32Array[] = [];
    for (const n of names) parts.push(await ckpt.readF32(n));
    const total = parts.reduce((s, p) => s + p.length, 0);
    const buf = ctx.alloc(total * 4, label);
    let at = 0;
    for (const p of parts) {
      ctx.upload(buf, p, at * 4);
      at += p.length;
    }
    return buf;
  };
  try {
    const embed = await matrix(V, C, ["model.embed_tokens.weight"], "embed_tokens");
    const lmHead = config.tieWordEmbeddings
      ? embed
      : await matrix(V, C, ["lm_head.weight"], "lm_head");
    const layers: LayerWeights[] = [];
    for (let l = 0; l < config.numLayers; l++) {
      const p = `model.layers.${l}`;
      const at = `${p}.self_attn`;
      layers.push({
        inNorm: await vector([`${p}.input_layernorm.weight`], `${p}.input_layernorm`),
        qkv: await matrix(
          (NH + 2 * NKV) * HS,
          C,
          [`${at}.q_proj.weight`, `${at}.k_proj.weight`, `${at}.v_proj.weight`],
          `${at}.qkv`,
        ),
        qkvBias: config.attentionBias
          ? await vector(
            [`${at}.q_proj.bias`, `${at}.k_proj.bias`, `${at}.v_proj.bias`],
            `${at}.qkv_bias`,
          )
          : null,
        qNorm: config.qkNorm ? await vector([`${at}.q_norm.weight`], `${at}.q_norm`) : null,
        kNorm: config.qkNorm ? await vector([`${at}.k_norm.weight`], `${at}.k_norm`) : null,
        o: await matrix(C, NH * HS, [`${at}.o_proj.weight`], `${at}.o_proj`),
        oBias: config.outputBias ? await vector([`${at}.o_proj.bias`], `${at}.o_proj.bias`) : null,
        postNorm: await vector(
          [`${p}.post_attention_layernorm.weight`],
          `${p}.post_attention_layernorm`,
        ),
        gateUp: await matrix(
          2 * FF,
          C,
          [`${p}.mlp.gate_proj.weight`, `${p}.mlp.up_proj.weight`],
          `${p}.mlp.gate_up`,
        ),
        down: await matrix(C, FF, [`${p}.mlp.down_proj.weight`], `${p}.mlp.down_proj`),
      });
    }
    const finalNorm = await vector(["model.norm.weight"], "model.norm");
    // RoPE tables for every position the model may see (the CPU reference's exact values).
    const table = ropeTable(ropeInverseFrequencies(config), config.maxPositionEmbeddings);
    const cos = ctx.alloc(table.cos.byteLength, "rope-cos");
    const sin = ctx.alloc(table.sin.byteLength, "rope-sin");
    ctx.upload(cos, table.cos);
    ctx.upload(sin, table.sin);
    ctx.sync();
    return { embed, lmHead, finalNorm, layers, cos, sin };
  } finally {
    if (stage) ctx.free(stage);
  }
}
