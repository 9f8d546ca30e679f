/**
 * The WebGPU implementation of {@link Model}: a deterministic, batch-invariant WGSL forward over
 * packed token rows, the proof forward (final hidden states, next-token log-probs, EOS
 * probabilities, optional GPU sketches) and KV-cached generation sessions with prompt sharing.
 *
 * Legend: B batch rows, T positions, C hidden, V vocabulary, L layers, NH query heads, NKV KV
 * heads, HS head size, FF MLP width, R rows per pass.
 *
 * Every token of every sequence is one row; a pass runs up to R rows through all layers, and
 * attention reads keys from a KV cache (rows written by earlier passes included). Because every
 * kernel computes a row from that row alone (matmul: one fma chain over K per output; attention:
 * fixed key tiles), a sequence's bits are independent of what it is batched with, of how rows
 * are split into passes, and of whether it is run by the proof forward or by prefill + decode.
 *
 * @module
 */

import type { Checkpoint } from "../model/checkpoint.ts";
import type { ModelConfig } from "../model/config.ts";
import {
  checkPrompts,
  checkProofBatch,
  checkToken,
  emptyProofResults,
  proofRowGroups,
  type RowSpec,
  sharedPromptRows,
  storeLogprobs,
} from "../model/batch_rows.ts";
import { ModelError } from "../model/errors.ts";
import type {
  DeviceSelect,
  GenerationSession,
  GreedySteps,
  Model,
  ProofForwardOptions,
  ProofForwardResult,
  SelectResult,
} from "../model/model.ts";
import {
  type CandidateRequest,
  candidateRowWords,
  decodeCandidateRow,
  type RowCandidates,
} from "../model/sampling.ts";
import { ropeInverseFrequencies, ropeTable } from "../model/rope.ts";
import { type AttentionBlock, attentionBlocks, AttentionKernel } from "./attention.ts";
import { type Dispatch, encodeDispatch, GpuContext } from "./context.ts";
import { EmbeddingKernel } from "./embedding.ts";
import { GpuError } from "./gpu_error.ts";
import { LOGPROB_NONE, LogprobKernel } from "./logprob.ts";
import {
  MATMUL_ROWS_MAX,
  MATMUL_TILES_LARGE,
  MATMUL_TILES_SMALL,
  type MatmulArgs,
  MatmulKernel,
  type MatmulTiles,
} from "./matmul.ts";
import { MlpKernel } from "./mlp.ts";
import { GpuProfiler } from "./profiler.ts";
import { RmsNormKernel } from "./rmsnorm.ts";
import { RopeKernel } from "./rope.ts";
import { SampleKernel } from "./sample.ts";
import { SketchKernel } from "./sketch.ts";
import { allocMatrix, type GpuMatrix, type WeightDType, writeRows } from "./weights.ts";

/** Options of {@link WebGpuModel.load}. */
export interface WebGpuModelOptions {
  /** A context to use (borrowed: not destroyed by dispose); default: a new one, owned. */
  context?: GpuContext;
  /** Weights on the GPU: "f32" (default, any adapter) or "f16" (needs `shader-f16`). */
  precision?: WeightDType;
  /** R: rows per pass; default min(4096, what the binding limit allows). */
  maxRowsPerPass?: number;
  /** KV rows of the proof forward's cache (longest sequence it accepts); default min(maxPos, 16384). */
  proofCapacityTokens?: number;
  /** Matmul tiles; default large tiles where the device allows them, else small. */
  tiles?: MatmulTiles;
  /** Logits rows per lm_head block; default what fits min(binding limit, 1 GiB). */
  maxLogitsRows?: number;
  /** Time every dispatch with timestamp queries (slower; see {@link WebGpuModel.profile}). */
  profile?: boolean;
  /** Largest weight chunk in bytes; default the storage-binding limit (smaller values: tests). */
  maxWeightChunkBytes?: number;
}

/**
 * Proof-forward options of the WebGPU model: the backend-neutral ones (GPU sketches included,
 * `sketchCoefficients`); the name stays for callers that used it before they moved there.
 */
export type WebGpuProofForwardOptions = ProofForwardOptions;

/** Proof-forward result of the WebGPU model: the backend-neutral one (with `sketches`). */
export type WebGpuProofForwardResult = ProofForwardResult;

interface Kernels {
  matmul: MatmulKernel;
  norm: RmsNormKernel;
  rope: RopeKernel;
  attention: AttentionKernel;
  embedding: EmbeddingKernel;
  mlp: MlpKernel;
  logprob: LogprobKernel;
  sketch: SketchKernel;
  sample: SampleKernel;
}

/** A matmul bound twice: tiled (any rows), and one thread per column for few rows. */
interface MatmulOp {
  tiled: Dispatch[];
  rows: Dispatch[];
}

interface LayerOps {
  inNorm: Dispatch;
  qkv: MatmulOp;
  o: MatmulOp;
  postNorm: Dispatch;
  gateUp: MatmulOp;
  mlp: Dispatch;
  down: MatmulOp;
}

interface KvCache {
  capacity: number;
  /** Every buffer made for this cache (layers, scratch, parameter blocks). */
  owned: GPUBuffer[];
  /** K and V of every layer. */
  layers: GPUBuffer[];
  /** One row-block of a layer, for copies between rows of a cache. */
  scratch: GPUBuffer;
  /** A session's final hidden states at each row's last position [B, C] (what lastHidden reads). */
  hidden: GPUBuffer;
  rope: Dispatch[];
  attention: Dispatch[];
}

/** Called by a forward as it passes each host phase (for decode timing). */
type PhaseMark = (phase: DecodePhase) => void;

/** One bound candidates dispatch of a session (per M and vocab limit). */
interface Sampler {
  m: number;
  /** [B, 2M + 3] u32 output. */
  top: GPUBuffer;
  dispatch: Dispatch;
}

/**
 * A session's decode state, bound once for the session's life (B ≤ maxLogitsRows): the logits
 * stay in a buffer of the session's own between calls, so that the next call can take log-probs
 * from them and the sampler can come back for a full row.
 */
interface DecodeState {
  batch: number;
  /** G: ids gathered per row at most (the session's positions per row). */
  gatherWidth: number;
  /** Run uniform (B, 0) of the decode dispatches (the forward's own run varies per pass). */
  run: GPUBuffer;
  /** [B, V] latest logits. */
  logits: GPUBuffer;
  lmHead: Dispatch[];
  /** [B] (token, NONE) targets and their (log p, unused) outputs. */
  targets: GPUBuffer;
  lpOut: GPUBuffer;
  logprob: Dispatch;
  /** [B, G] ids to gather, [B] counts, [B, G] gathered logits. */
  seen: GPUBuffer;
  seenCount: GPUBuffer;
  gathered: GPUBuffer;
  samplers: Map<string, Sampler>;
  /** MAP_READ buffers: small readbacks, full logits. */
  staging: GPUBuffer | null;
  logitsStaging: GPUBuffer | null;
  /** The cache's owned list: everything made here is freed with the cache. */
  owned: GPUBuffer[];
  /** Whether `logits` holds a prefill's or step's logits yet. */
  hasLogits: boolean;
  /** Greedy steps without the host, bound on first use. */
  feed: Feed | null;
}

/**
 * Greedy decoding on the device: each step's argmax (sample_feed) is copied into the next step's
 * row metadata and log-prob targets inside its command buffer; tokens and log-probs are logged
 * per step and read back once for many steps.
 */
interface Feed {
  sampler: Sampler;
  /** Uniform (B, M, log offset, 0), rewritten before each step's submit. */
  params: GPUBuffer;
  /** [B] the tokens the next step embeds. */
  next: GPUBuffer;
  /** [steps × B] argmax ids (bit 31: NaN in the row) and [steps × B] (log p, unused) pairs. */
  log: GPUBuffer;
  lpLog: GPUBuffer;
  staging: GPUBuffer;
  /** Steps the logs hold. */
  capacity: number;
  dispatch: Dispatch;
}

/** What one fused decode call computes and reads back. */
interface DecodePlan {
  /** Log-probs of the targets already written, under the logits before this call. */
  logprob: boolean;
  sampler: Sampler | null;
  /** Per row, gathered logits to read back (0: none); null: no gather. */
  gather: readonly number[] | null;
  fullLogits: boolean;
}

/** Maps a submitted call's staging buffers (await it outside the model's exclusive section). */
type Reader = () => Promise<DecodeReadback>;

/** The host side of one fused decode call. */
interface DecodeReadback {
  logprobs: Float32Array | null;
  /** [B, 2M + 3] words of the sampler. */
  top: Uint32Array | null;
  /** Per row, its gathered logits. */
  gathered: Float32Array[] | null;
  logits: Float32Array | null;
}

interface Activations {
  run: GPUBuffer;
  rowsMeta: GPUBuffer;
  blocks: GPUBuffer;
  x: GPUBuffer;
  hn: GPUBuffer;
  qkv: GPUBuffer;
  q: GPUBuffer;
  att: GPUBuffer;
  gu: GPUBuffer;
  hff: GPUBuffer;
  fin: GPUBuffer;
  last: GPUBuffer;
  logits: GPUBuffer;
  targets: GPUBuffer;
  lpOut: GPUBuffer;
  coeffs: GPUBuffer;
  sketchOut: GPUBuffer;
}

const NONE = LOGPROB_NONE;

/** Records dispatches into one compute pass, or one pass per dispatch when profiling. */
class PassRecorder {
  #enc: GPUCommandEncoder;
  #prof: GpuProfiler | null;
  #pass: GPUComputePassEncoder | null = null;

  constructor(enc: GPUCommandEncoder, prof: GpuProfiler | null) {
    this.#enc = enc;
    this.#prof = prof;
  }

  run(ops: Dispatch | readonly Dispatch[], n: number, label: string): void {
    const list = Array.isArray(ops) ? ops : [ops as Dispatch];
    if (this.#prof) {
      this.end();
      const pass = this.#enc.beginComputePass({ timestampWrites: this.#prof.next(label) });
      for (const op of list) encodeDispatch(pass, op, n);
      pass.end();
      return;
    }
    this.#pass ??= this.#enc.beginComputePass();
    for (const op of list) encodeDispatch(this.#pass, op, n);
  }

  end(): void {
    this.#pass?.end();
    this.#pass = null;
  }
}

/** The few-rows kernel where it applies (bit-identical to the tiled one), else the tiled one. */
function pickMatmul(op: MatmulOp, rows: number): Dispatch[] {
  return rows <= MATMUL_ROWS_MAX ? op.rows : op.tiled;
}

function packRows(
  rows: readonly RowSpec[],
  qb: number,
): { meta: Uint32Array; blocks: Uint32Array } {
  const meta = new Uint32Array(rows.length * 4);
  const runs: AttentionBlock[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    meta.set([r.token, r.pos, r.kvRow, r.kvBase], 4 * i);
    const prev = runs[runs.length - 1];
    if (
      prev && prev.kvBase === r.kvBase && prev.firstPos + prev.count === r.pos &&
      prev.firstRow + prev.count === i
    ) {
      prev.count++;
    } else {
      runs.push({ firstRow: i, count: 1, kvBase: r.kvBase, firstPos: r.pos });
    }
  }
  return { meta, blocks: attentionBlocks(runs, qb) };
}

/**
 * A causal LM on WebGPU.
 *
 * @example Proof forward of a tiny model (skipped where there is no adapter)
 * ```ts
 * import { makeTinyModel } from "../model/tiny.ts";
 * import { openCheckpoint } from "../model/checkpoint.ts";
 * import { WebGpuModel } from "./webgpu_model.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const dir = await Deno.makeTempDir();
 *   await makeTinyModel(dir, { architecture: "qwen3", seed: 1 });
 *   const ckpt = await openCheckpoint(dir);
 *   const model = await WebGpuModel.load(ckpt);
 *   ckpt.close();
 *   const [r] = await model.proofForward([[1, 2, 3]]);
 *   model.dispose();
 *   await Deno.remove(dir, { recursive: true });
 *   if (r.hidden.length !== 3 * model.hiddenSize || r.nextTokenLogprobs.length !== 2) throw new Error();
 * }
 * ```
 */
export class WebGpuModel implements Model {
  /** The checkpoint's config. */
  readonly config: ModelConfig;
  /** C. */
  readonly hiddenSize: number;
  /** V. */
  readonly vocabSize: number;
  /** Always "webgpu". */
  readonly backend: "webgpu" = "webgpu";
  /** The device context. */
  readonly context: GpuContext;
  /** Weight precision on the GPU. */
  readonly precision: WeightDType;
  /** R: rows per pass. */
  readonly maxRowsPerPass: number;
  /** Rows per lm_head block. */
  readonly maxLogitsRows: number;
  /** KV rows of the proof forward's cache. */
  readonly proofCapacityTokens: number;
  readonly #ownsContext: boolean;
  /** Buffers this model made (released by dispose when the context is borrowed). */
  readonly #owned: GPUBuffer[];
  readonly #k: Kernels;
  readonly #act: Activations;
  readonly #layerOps: LayerOps[];
  readonly #embed: Dispatch[];
  readonly #finalNorm: Dispatch;
  readonly #lmFromFin: Dispatch[];
  readonly #lmFromLast: MatmulOp;
  readonly #lmHead: GpuMatrix;
  readonly #logprob: Dispatch;
  readonly #layerBuffers: { qkvBias: GPUBuffer; qNorm: GPUBuffer; kNorm: GPUBuffer }[];
  readonly #cosSin: { cos: GPUBuffer; sin: GPUBuffer; positions: number };
  readonly #prof: GpuProfiler | null;
  #proofKv: KvCache | null = null;
  #sketchOps = new Map<number, Dispatch>();
  #disposed = false;
  #sessions = new Set<WebGpuGenerationSession>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    ctx: GpuContext,
    ownsContext: boolean,
    config: ModelConfig,
    precision: WeightDType,
    kernels: Kernels,
    w: {
      embed: GpuMatrix;
      lmHead: GpuMatrix;
      finalNorm: GPUBuffer;
      layers: {
        inNorm: GPUBuffer;
        qkv: GpuMatrix;
        qkvBias: GPUBuffer | undefined;
        qNorm: GPUBuffer | undefined;
        kNorm: GPUBuffer | undefined;
        o: GpuMatrix;
        oBias: GPUBuffer | undefined;
        postNorm: GPUBuffer;
        gateUp: GpuMatrix;
        down: GpuMatrix;
      }[];
    },
    sizes: { rows: number; logitsRows: number; proofCapacity: number },
    profile: boolean,
    before: ReadonlySet<GPUBuffer>,
  ) {
    this.context = ctx;
    this.#ownsContext = ownsContext;
    this.config = config;
    this.hiddenSize = config.hiddenSize;
    this.vocabSize = config.vocabSize;
    this.precision = precision;
    this.#k = kernels;
    this.maxRowsPerPass = sizes.rows;
    this.maxLogitsRows = sizes.logitsRows;
    this.proofCapacityTokens = sizes.proofCapacity;
    this.#prof = profile && ctx.hasTimestamps ? new GpuProfiler(ctx) : null;
    const { hiddenSize: C, intermediateSize: FF, numHeads: NH, numKvHeads: NKV, headDim: HS } =
      config;
    const R = sizes.rows;
    const QKVW = (NH + 2 * NKV) * HS;
    const f = 4;
    this.#act = {
      run: ctx.uniform(new Uint32Array(4), "run"),
      rowsMeta: ctx.storage(R * 16, "rows-meta"),
      blocks: ctx.storage(R * 16, "attention-blocks"),
      x: ctx.storage(R * C * f, "x"),
      hn: ctx.storage(R * C * f, "hn"),
      qkv: ctx.storage(R * QKVW * f, "qkv"),
      q: ctx.storage(R * NH * HS * f, "q"),
      att: ctx.storage(R * NH * HS * f, "att"),
      gu: ctx.storage(R * 2 * FF * f, "gate-up"),
      hff: ctx.storage(R * FF * f, "mlp-h"),
      fin: ctx.storage(R * C * f, "final-hidden"),
      last: ctx.storage(R * C * f, "last-hidden"),
      logits: ctx.storage(sizes.logitsRows * config.vocabSize * f, "logits"),
      targets: ctx.storage(R * 8, "targets"),
      lpOut: ctx.storage(R * 8, "logprob-out"),
      coeffs: ctx.storage(32 * 4, "sketch-coeffs"),
      sketchOut: ctx.storage(R * 4, "sketch-out"),
    };
    const a = this.#act;
    const k = kernels;
    const eps = config.rmsNormEps;
    this.#embed = k.embedding.bind(a.run, a.rowsMeta, w.embed, a.x);
    this.#layerBuffers = [];
    const dummy = ctx.storage(16, "unused");
    const mm = (args: MatmulArgs): MatmulOp => ({
      tiled: k.matmul.bind(args),
      rows: k.matmul.bindRows(args),
    });
    this.#layerOps = w.layers.map((l) => {
      this.#layerBuffers.push({
        qkvBias: l.qkvBias ?? dummy,
        qNorm: l.qNorm ?? dummy,
        kNorm: l.kNorm ?? dummy,
      });
      return {
        inNorm: k.norm.bind(a.run, a.x, l.inNorm, a.hn, C, eps),
        qkv: mm({ run: a.run, x: a.hn, w: l.qkv, y: a.qkv, bias: l.qkvBias }),
        o: mm({ run: a.run, x: a.att, w: l.o, y: a.x, bias: l.oBias, accumulate: true }),
        postNorm: k.norm.bind(a.run, a.x, l.postNorm, a.hn, C, eps),
        gateUp: mm({ run: a.run, x: a.hn, w: l.gateUp, y: a.gu }),
        mlp: k.mlp.bind(a.run, a.gu, a.hff, FF),
        down: mm({ run: a.run, x: a.hff, w: l.down, y: a.x, accumulate: true }),
      };
    });
    this.#finalNorm = k.norm.bind(a.run, a.x, w.finalNorm, a.fin, C, eps);
    this.#lmFromFin = k.matmul.bind({ run: a.run, x: a.fin, w: w.lmHead, y: a.logits });
    this.#lmFromLast = mm({ run: a.run, x: a.last, w: w.lmHead, y: a.logits });
    this.#lmHead = w.lmHead;
    this.#logprob = k.logprob.bind(a.run, a.logits, a.targets, a.lpOut, config.vocabSize);
    // RoPE tables for every position the model may see, shared by all caches.
    const positions = config.maxPositionEmbeddings;
    const table = ropeTable(ropeInverseFrequencies(config), positions);
    const cos = ctx.storage(table.cos.byteLength, "rope-cos");
    const sin = ctx.storage(table.sin.byteLength, "rope-sin");
    ctx.write(cos, 0, table.cos);
    ctx.write(sin, 0, table.sin);
    this.#cosSin = { cos, sin, positions };
    this.#owned = ctx.createdSince(before);
  }

  /**
   * Uploads a checkpoint tensor by tensor (each read, converted and written before the next is
   * read, so the checkpoint is never held twice) and compiles the kernels.
   *
   * @param ckpt An open checkpoint (the caller closes it).
   * @param options Precision, pass sizes, context.
   * @returns The model.
   * @throws {GpuError} No adapter, f16 requested without `shader-f16`, a shape the kernels
   *   cannot run.
   */
  static async load(ckpt: Checkpoint, options: WebGpuModelOptions = {}): Promise<WebGpuModel> {
    const ctx = options.context ?? await GpuContext.create();
    const owns = options.context === undefined;
    // With a borrowed context, do not load other models on it concurrently: buffers are
    // attributed to this model by what the context gained in between.
    const before = ctx.snapshot();
    try {
      return await WebGpuModel.#load(ctx, owns, ckpt, options, before);
    } catch (e) {
      if (owns) ctx.destroy();
      else for (const b of ctx.createdSince(before)) ctx.release(b);
      throw e;
    }
  }

  static async #load(
    ctx: GpuContext,
    owns: boolean,
    ckpt: Checkpoint,
    options: WebGpuModelOptions,
    before: ReadonlySet<GPUBuffer>,
  ): Promise<WebGpuModel> {
    const config = ckpt.config;
    const precision = options.precision ?? "f32";
    if (precision === "f16" && !ctx.hasF16) {
      throw new GpuError(
        "limits",
        `Cannot load ${ckpt.dir} in f16: adapter ${ctx.description} lacks shader-f16; use precision "f32"`,
      );
    }
    const { hiddenSize: C, intermediateSize: FF, numHeads: NH, numKvHeads: NKV, headDim: HS } =
      config;
    const V = config.vocabSize;
    const lim = ctx.limits;
    const widest = 4 * Math.max(2 * FF, (NH + 2 * NKV) * HS, C);
    const rowsCap = Math.min(
      Math.floor(lim.maxStorageBufferBindingSize / widest),
      lim.maxComputeWorkgroupsPerDimension,
    );
    const rows = Math.min(options.maxRowsPerPass ?? 4096, rowsCap);
    if (!Number.isInteger(rows) || rows < 1) {
      throw new RangeError(
        `Invalid maxRowsPerPass: got ${options.maxRowsPerPass}, expected a positive integer (at most ${rowsCap} here)`,
      );
    }
    const logitsRows = Math.max(
      1,
      Math.min(
        options.maxLogitsRows ?? rows,
        rows,
        Math.floor(Math.min(lim.maxStorageBufferBindingSize, 1 << 30) / (4 * V)),
      ),
    );
    const proofCapacity = options.proofCapacityTokens ??
      Math.min(config.maxPositionEmbeddings, 16384);
    const tiles = options.tiles ??
      (lim.maxComputeWorkgroupStorageSize >= 4 * MATMUL_TILES_LARGE.bk *
              (MATMUL_TILES_LARGE.bm + MATMUL_TILES_LARGE.bn) &&
          lim.maxComputeInvocationsPerWorkgroup >= 256 &&
          !/llvmpipe|swiftshader/i.test(ctx.description)
        ? MATMUL_TILES_LARGE
        : MATMUL_TILES_SMALL);
    const [matmul, norm, rope, attention, embedding, mlp, logprob, sketch, sample] = await Promise
      .all([
        MatmulKernel.create(ctx, precision, tiles),
        RmsNormKernel.create(ctx),
        RopeKernel.create(ctx),
        AttentionKernel.create(ctx, HS),
        EmbeddingKernel.create(ctx, precision),
        MlpKernel.create(ctx),
        LogprobKernel.create(ctx),
        SketchKernel.create(ctx),
        SampleKernel.create(ctx),
      ]);
    const vector = async (name: string): Promise<GPUBuffer> => {
      const data = await ckpt.readF32(name);
      const buf = ctx.storage(data.byteLength, name);
      ctx.write(buf, 0, data);
      return buf;
    };
    const matrix = async (rowsN: number, cols: number, names: string[], label: string) => {
      const m = allocMatrix(ctx, rowsN, cols, precision, label, options.maxWeightChunkBytes);
      let at = 0;
      for (const name of names) {
        const data = await ckpt.readF32(name);
        writeRows(ctx, m, at, data);
        at += data.length / cols;
      }
      return m;
    };
    const concatVectors = async (names: string[], label: string): Promise<GPUBuffer> => {
      const parts = [];
      for (const n of names) parts.push(await ckpt.readF32(n));
      const total = parts.reduce((s, p) => s + p.length, 0);
      const buf = ctx.storage(total * 4, label);
      let at = 0;
      for (const p of parts) {
        ctx.write(buf, at * 4, p);
        at += p.length;
      }
      return buf;
    };
    const embed = await matrix(V, C, ["model.embed_tokens.weight"], "embed_tokens");
    const lmHead = config.tieWordEmbeddings
      ? embed
      : await matrix(V, C, ["lm_head.weight"], "lm_head");
    const layers = [];
    for (let l = 0; l < config.numLayers; l++) {
      const p = `model.layers.${l}`;
      const at = `${p}.self_attn`;
      layers.push({
        inNorm: await vector(`${p}.input_layernorm.weight`),
        qkv: await matrix(
          (NH + 2 * NKV) * HS,
          C,
          [`${at}.q_proj.weight`, `${at}.k_proj.weight`, `${at}.v_proj.weight`],
          `${at}.qkv`,
        ),
        qkvBias: config.attentionBias
          ? await concatVectors(
            [`${at}.q_proj.bias`, `${at}.k_proj.bias`, `${at}.v_proj.bias`],
            `${at}.qkv_bias`,
          )
          : undefined,
        qNorm: config.qkNorm ? await vector(`${at}.q_norm.weight`) : undefined,
        kNorm: config.qkNorm ? await vector(`${at}.k_norm.weight`) : undefined,
        o: await matrix(C, NH * HS, [`${at}.o_proj.weight`], `${at}.o_proj`),
        oBias: config.outputBias ? await vector(`${at}.o_proj.bias`) : undefined,
        postNorm: await vector(`${p}.post_attention_layernorm.weight`),
        gateUp: await matrix(
          2 * FF,
          C,
          [`${p}.mlp.gate_proj.weight`, `${p}.mlp.up_proj.weight`],
          `${p}.mlp.gate_up`,
        ),
        down: await matrix(C, FF, [`${p}.mlp.down_proj.weight`], `${p}.mlp.down_proj`),
      });
    }
    const finalNorm = await vector("model.norm.weight");
    await ctx.device.queue.onSubmittedWorkDone();
    return new WebGpuModel(
      ctx,
      owns,
      config,
      precision,
      { matmul, norm, rope, attention, embedding, mlp, logprob, sketch, sample },
      { embed, lmHead, finalNorm, layers },
      { rows, logitsRows, proofCapacity },
      options.profile === true,
      before,
    );
  }

  /** GPU nanoseconds per kernel family since the last reset (profile mode only). */
  profile(): Map<string, number> {
    return this.#prof?.totals() ?? new Map();
  }

  /** Clears the profile totals. */
  resetProfile(): void {
    this.#prof?.reset();
  }

  /**
   * Runs `fn` after every earlier call has finished: the activation buffers are shared, so GPU
   * work of concurrent calls must not interleave.
   *
   * @param fn The work.
   * @returns Its result.
   */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #check(): void {
    if (this.#disposed) {
      throw new ModelError("disposed", "Cannot use the WebGPU model: it was disposed");
    }
    this.context.checkAlive();
  }

  /** Allocates a KV cache of `capacity` rows and binds its rope and attention dispatches. */
  #kvCache(capacity: number, label: string, rowsPerSlot = 1, hiddenRows = 1): KvCache {
    const before = this.context.snapshot();
    const { numKvHeads: NKV, headDim: HS, numHeads: NH, numLayers: L } = this.config;
    const ctx = this.context;
    const rowBytes = NKV * HS * 4;
    if (capacity * rowBytes > ctx.limits.maxStorageBufferBindingSize) {
      throw new GpuError(
        "limits",
        `Cannot allocate a ${label} KV cache of ${capacity} rows: one layer needs ${
          capacity * rowBytes
        } bytes, over the binding limit ${ctx.limits.maxStorageBufferBindingSize}; use fewer positions`,
      );
    }
    const a = this.#act;
    const shape = { nh: NH, nkv: NKV, hs: HS };
    const buffers: GPUBuffer[] = [];
    const rope: Dispatch[] = [];
    const attention: Dispatch[] = [];
    for (let l = 0; l < L; l++) {
      const k = ctx.storage(capacity * rowBytes, `${label}-k${l}`);
      const v = ctx.storage(capacity * rowBytes, `${label}-v${l}`);
      buffers.push(k, v);
      const lb = this.#layerBuffers[l];
      rope.push(this.#k.rope.bind(
        { ...shape, qkNorm: this.config.qkNorm, eps: this.config.rmsNormEps },
        {
          run: a.run,
          qkv: a.qkv,
          rowsMeta: a.rowsMeta,
          cos: this.#cosSin.cos,
          sin: this.#cosSin.sin,
          qNorm: lb.qNorm,
          kNorm: lb.kNorm,
          q: a.q,
          kCache: k,
          vCache: v,
        },
      ));
      attention.push(this.#k.attention.bind(shape, a.run, a.blocks, a.q, k, v, a.att));
    }
    const scratch = ctx.storage(rowsPerSlot * rowBytes, `${label}-scratch`);
    const hidden = ctx.storage(hiddenRows * this.hiddenSize * 4, `${label}-hidden`);
    const owned = ctx.createdSince(before);
    return { capacity, owned, layers: buffers, scratch, hidden, rope, attention };
  }

  /** Frees a KV cache. */
  #releaseKv(kv: KvCache): void {
    for (const b of kv.owned) this.context.release(b);
    kv.owned.length = 0;
    kv.layers.length = 0;
  }

  #setRun(rows: number, xRowOffset: number): void {
    this.context.write(this.#act.run, 0, new Uint32Array([rows, xRowOffset, 0, 0]));
  }

  async #submit(enc: GPUCommandEncoder): Promise<void> {
    this.context.device.queue.submit([enc.finish()]);
    if (this.#prof) await this.#prof.flush();
  }

  /**
   * Runs up to R rows through embedding, all layers and the final norm; `fin` then holds their
   * final hidden states. `extra` may encode more work into the same command buffer.
   */
  async #forward(
    kv: KvCache,
    rows: readonly RowSpec[],
    extra?: (enc: GPUCommandEncoder) => void,
    mark?: PhaseMark,
    before?: (enc: GPUCommandEncoder) => void,
  ): Promise<void> {
    const n = rows.length;
    for (const r of rows) {
      if (r.pos >= this.#cosSin.positions) {
        throw new ModelError(
          "bad_input",
          `Position ${r.pos} is beyond the model's ${this.#cosSin.positions} positions (max_position_embeddings)`,
        );
      }
      if (r.kvRow >= kv.capacity) {
        throw new ModelError(
          "cache_full",
          `KV row ${r.kvRow} is beyond the cache's ${kv.capacity} rows`,
        );
      }
    }
    const { meta, blocks } = packRows(rows, this.#k.attention.qb);
    this.context.write(this.#act.rowsMeta, 0, meta);
    this.context.write(this.#act.blocks, 0, blocks);
    this.#setRun(n, 0);
    mark?.("write");
    const nBlocks = blocks.length / 4;
    const enc = this.context.device.createCommandEncoder();
    before?.(enc);
    const rec = new PassRecorder(enc, this.#prof);
    rec.run(this.#embed, n, "embedding");
    const pick = (op: MatmulOp) => pickMatmul(op, n);
    for (let l = 0; l < this.#layerOps.length; l++) {
      const op = this.#layerOps[l];
      rec.run(op.inNorm, n, "rmsnorm");
      rec.run(pick(op.qkv), n, "matmul_qkv");
      rec.run(kv.rope[l], n, "rope");
      rec.run(kv.attention[l], nBlocks, "attention");
      rec.run(pick(op.o), n, "matmul_o");
      rec.run(op.postNorm, n, "rmsnorm");
      rec.run(pick(op.gateUp), n, "matmul_gate_up");
      rec.run(op.mlp, n, "swiglu");
      rec.run(pick(op.down), n, "matmul_down");
    }
    rec.run(this.#finalNorm, n, "rmsnorm");
    rec.end();
    extra?.(enc);
    mark?.("encode");
    await this.#submit(enc);
    mark?.("submit");
  }

  /**
   * lm_head + log-softmax for rows [0, n) of `fin` with the targets already written; results
   * land in lpOut[0..n).
   */
  async #logprobs(n: number): Promise<void> {
    for (let b0 = 0; b0 < n; b0 += this.maxLogitsRows) {
      const nb = Math.min(this.maxLogitsRows, n - b0);
      this.#setRun(nb, b0);
      const enc = this.context.device.createCommandEncoder();
      const rec = new PassRecorder(enc, this.#prof);
      rec.run(this.#lmFromFin, nb, "matmul_lm_head");
      rec.run(this.#logprob, nb, "logprob");
      rec.end();
      await this.#submit(enc);
    }
  }

  /** Full logits [n, V] of rows [0, n) of `last`. */
  async #lastLogits(n: number): Promise<Float32Array> {
    const V = this.vocabSize;
    const out = new Float32Array(n * V);
    for (let b0 = 0; b0 < n; b0 += this.maxLogitsRows) {
      const nb = Math.min(this.maxLogitsRows, n - b0);
      this.#setRun(nb, b0);
      const enc = this.context.device.createCommandEncoder();
      const rec = new PassRecorder(enc, this.#prof);
      rec.run(pickMatmul(this.#lmFromLast, nb), nb, "matmul_lm_head");
      rec.end();
      await this.#submit(enc);
      out.set(new Float32Array(await this.context.read(this.#act.logits, 0, nb * V * 4)), b0 * V);
    }
    return out;
  }

  /** A session's hidden states [n, C] at its rows' last positions. */
  async #lastHidden(kv: KvCache, n: number): Promise<Float32Array> {
    const C = this.hiddenSize;
    return new Float32Array(await this.context.read(kv.hidden, 0, n * C * 4));
  }

  /**
   * Copies rows of `fin` into rows of `last` (the rows whose logits a session returns) and of
   * the session's own hidden buffer (what its lastHidden reads, safe from other sessions).
   *
   * @param enc Encoder.
   * @param pairs (fin row, last row) pairs.
   * @param kv The session's cache.
   */
  #copyToLast(enc: GPUCommandEncoder, pairs: readonly [number, number][], kv: KvCache): void {
    const bytes = this.hiddenSize * 4;
    for (const [from, to] of pairs) {
      enc.copyBufferToBuffer(this.#act.fin, from * bytes, this.#act.last, to * bytes, bytes);
      enc.copyBufferToBuffer(this.#act.fin, from * bytes, kv.hidden, to * bytes, bytes);
    }
  }

  /**
   * Runs rows through the model (a session's prefill or step), then copies final-hidden rows.
   *
   * @param kv The session's cache.
   * @param rows Rows of this pass.
   * @param copies (pass row, last row) pairs to keep for logits.
   * @param after More copies (KV sharing) encoded after the pass.
   */
  async #runSessionRows(
    kv: KvCache,
    rows: readonly RowSpec[],
    copies: readonly [number, number][],
    after?: (enc: GPUCommandEncoder) => void,
  ): Promise<void> {
    this.#check();
    await this.#forward(kv, rows, (enc) => {
      this.#copyToLast(enc, copies, kv);
      after?.(enc);
    });
  }

  /** Binds a session's decode state; null when its B rows of logits exceed one binding. */
  #decodeState(kv: KvCache, batch: number, gatherWidth: number): DecodeState | null {
    if (batch > this.maxLogitsRows) return null;
    const ctx = this.context;
    const V = this.vocabSize;
    const before = ctx.snapshot();
    const run = ctx.uniform(new Uint32Array([batch, 0, 0, 0]), "decode-run");
    const logits = ctx.storage(batch * V * 4, "decode-logits");
    const args = { run, x: this.#act.last, w: this.#lmHead, y: logits };
    const lmHead = batch <= MATMUL_ROWS_MAX
      ? this.#k.matmul.bindRows(args)
      : this.#k.matmul.bind(args);
    const targets = ctx.storage(batch * 8, "decode-targets");
    const lpOut = ctx.storage(batch * 8, "decode-logprobs");
    const logprob = this.#k.logprob.bind(run, logits, targets, lpOut, V);
    const seen = ctx.storage(batch * gatherWidth * 4, "decode-seen");
    const seenCount = ctx.storage(batch * 4, "decode-seen-count");
    const gathered = ctx.storage(batch * gatherWidth * 4, "decode-gathered");
    kv.owned.push(...ctx.createdSince(before));
    return {
      batch,
      gatherWidth,
      run,
      logits,
      lmHead,
      targets,
      lpOut,
      logprob,
      seen,
      seenCount,
      gathered,
      samplers: new Map(),
      staging: null,
      logitsStaging: null,
      owned: kv.owned,
      hasLogits: false,
      feed: null,
    };
  }

  /** The session's candidates dispatch for M and a vocab limit, bound on first use. */
  #sampler(ds: DecodeState, m: number, limit: number): Sampler {
    const key = `${m}:${limit}`;
    let sampler = ds.samplers.get(key);
    if (!sampler) {
      const top = this.context.storage(ds.batch * candidateRowWords(m) * 4, "decode-top");
      const { dispatch, params } = this.#k.sample.bind(
        { logits: ds.logits, seen: ds.seen, seenCount: ds.seenCount, top, gathered: ds.gathered },
        this.vocabSize,
        m,
        ds.gatherWidth,
        limit,
      );
      ds.owned.push(top, params);
      sampler = { m, top, dispatch };
      ds.samplers.set(key, sampler);
    }
    return sampler;
  }

  /** A MAP_READ buffer of at least `bytes`, kept in the state (replaced only when too small). */
  #staging(ds: DecodeState, which: "staging" | "logitsStaging", bytes: number): GPUBuffer {
    const cur = ds[which];
    if (cur && cur.size >= bytes) return cur;
    if (cur) {
      ds.owned.splice(ds.owned.indexOf(cur), 1);
      this.context.release(cur);
    }
    const buf = this.context.buffer(
      bytes,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      `decode-${which}`,
    );
    ds.owned.push(buf);
    ds[which] = buf;
    return buf;
  }

  /**
   * Encodes the decode tail of a call (log-probs of the fed tokens under the previous logits,
   * lm_head into the session's logits, candidates) and the copies into staging buffers.
   */
  #encodeDecode(enc: GPUCommandEncoder, ds: DecodeState, plan: DecodePlan, lmHead: boolean) {
    const B = ds.batch;
    const rec = new PassRecorder(enc, this.#prof);
    if (plan.logprob) rec.run(ds.logprob, B, "logprob");
    if (lmHead) rec.run(ds.lmHead, B, "matmul_lm_head");
    if (plan.sampler) rec.run(plan.sampler.dispatch, B, "sample");
    rec.end();
    const small = this.#smallBytes(ds, plan);
    if (small > 0) {
      const st = this.#staging(ds, "staging", small);
      let at = 0;
      if (plan.logprob) {
        enc.copyBufferToBuffer(ds.lpOut, 0, st, at, B * 8);
        at += B * 8;
      }
      if (plan.sampler) {
        const bytes = B * candidateRowWords(plan.sampler.m) * 4;
        enc.copyBufferToBuffer(plan.sampler.top, 0, st, at, bytes);
        at += bytes;
      }
      plan.gather?.forEach((count, b) => {
        if (count === 0) return;
        enc.copyBufferToBuffer(ds.gathered, b * ds.gatherWidth * 4, st, at, count * 4);
        at += count * 4;
      });
    }
    if (plan.fullLogits) {
      const bytes = B * this.vocabSize * 4;
      enc.copyBufferToBuffer(ds.logits, 0, this.#staging(ds, "logitsStaging", bytes), 0, bytes);
    }
  }

  #smallBytes(ds: DecodeState, plan: DecodePlan): number {
    const B = ds.batch;
    let bytes = plan.logprob ? B * 8 : 0;
    if (plan.sampler) bytes += B * candidateRowWords(plan.sampler.m) * 4;
    for (const c of plan.gather ?? []) bytes += c * 4;
    return bytes;
  }

  /** Maps the staging buffers a submitted plan wrote and splits them into their parts. */
  async #decodeRead(ds: DecodeState, plan: DecodePlan, mark?: PhaseMark): Promise<DecodeReadback> {
    const small = this.#smallBytes(ds, plan);
    const full = plan.fullLogits ? ds.batch * this.vocabSize * 4 : 0;
    const maps: Promise<undefined>[] = [];
    try {
      if (small > 0) maps.push(ds.staging!.mapAsync(GPUMapMode.READ, 0, small));
      if (full > 0) maps.push(ds.logitsStaging!.mapAsync(GPUMapMode.READ, 0, full));
      await Promise.all(maps);
    } catch (cause) {
      this.context.checkAlive();
      throw new GpuError("device_lost", `Cannot read back decode results: ${cause}`, { cause });
    }
    mark?.("wait");
    const out: DecodeReadback = { logprobs: null, top: null, gathered: null, logits: null };
    if (small > 0) {
      const bytes = ds.staging!.getMappedRange(0, small).slice(0);
      ds.staging!.unmap();
      const B = ds.batch;
      let at = 0;
      if (plan.logprob) {
        const lp = new Float32Array(bytes, 0, 2 * B);
        out.logprobs = Float32Array.from({ length: B }, (_, b) => lp[2 * b]);
        at += B * 8;
      }
      if (plan.sampler) {
        const words = B * candidateRowWords(plan.sampler.m);
        out.top = new Uint32Array(bytes, at, words);
        at += words * 4;
      }
      if (plan.gather) {
        out.gathered = plan.gather.map((count) => {
          const g = new Float32Array(bytes, at, count);
          at += count * 4;
          return g;
        });
      }
    }
    if (full > 0) {
      out.logits = new Float32Array(ds.logitsStaging!.getMappedRange(0, full).slice(0));
      ds.logitsStaging!.unmap();
    }
    mark?.("read");
    return out;
  }

  /**
   * A session's prefill chunk or step with the decode tail fused into one submit; returns the
   * readback to await after leaving the model's exclusive section (the staging buffers are the
   * session's own, so other sessions may submit meanwhile).
   */
  async #decodeRun(
    kv: KvCache,
    ds: DecodeState,
    rows: readonly RowSpec[],
    copies: readonly [number, number][],
    after: ((enc: GPUCommandEncoder) => void) | undefined,
    plan: DecodePlan | null,
    mark?: PhaseMark,
  ): Promise<Reader | null> {
    this.#check();
    await this.#forward(kv, rows, (enc) => {
      this.#copyToLast(enc, copies, kv);
      after?.(enc);
      if (plan) this.#encodeDecode(enc, ds, plan, true);
    }, mark);
    if (!plan) return null;
    ds.hasLogits = true;
    return () => this.#decodeRead(ds, plan, mark);
  }

  /** The session's feed for `sampler` holding at least `steps` steps (made or grown once). */
  #feed(ds: DecodeState, sampler: Sampler, steps: number): Feed {
    const cur = ds.feed;
    if (cur && cur.sampler === sampler && cur.capacity >= steps) return cur;
    if (cur) {
      for (const b of [cur.params, cur.next, cur.log, cur.lpLog, cur.staging]) {
        ds.owned.splice(ds.owned.indexOf(b), 1);
        this.context.release(b);
      }
    }
    const ctx = this.context;
    const B = ds.batch;
    const params = ctx.uniform(new Uint32Array([B, sampler.m, 0, 0]), "feed-params");
    const next = ctx.storage(B * 4, "feed-next");
    const log = ctx.storage(steps * B * 4, "feed-log");
    const lpLog = ctx.storage(steps * B * 8, "feed-logprobs");
    const staging = ctx.buffer(
      steps * B * 12,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      "feed-staging",
    );
    ds.owned.push(params, next, log, lpLog, staging);
    const dispatch = this.#k.sample.bindFeed(params, sampler.top, next, log);
    ds.feed = { sampler, params, next, log, lpLog, staging, capacity: steps, dispatch };
    return ds.feed;
  }

  /**
   * One greedy step of `feed`: the previous step's argmax (in `feed.next`) goes into the row
   * metadata and log-prob targets before the forward; after it, the log-prob of that token, the
   * new logits, their candidates and argmax, logged at step `j`.
   */
  async #greedyStep(
    kv: KvCache,
    ds: DecodeState,
    feed: Feed,
    rows: readonly RowSpec[],
    j: number,
    mark?: PhaseMark,
  ): Promise<void> {
    this.#check();
    const B = ds.batch;
    this.context.write(feed.params, 0, new Uint32Array([B, feed.sampler.m, j * B, 0]));
    const copies = rows.map((_, b): [number, number] => [b, b]);
    await this.#forward(
      kv,
      rows,
      (enc) => {
        this.#copyToLast(enc, copies, kv);
        const rec = new PassRecorder(enc, this.#prof);
        rec.run(ds.logprob, B, "logprob");
        rec.run(ds.lmHead, B, "matmul_lm_head");
        rec.run(feed.sampler.dispatch, B, "sample");
        rec.run(feed.dispatch, B, "sample");
        rec.end();
        enc.copyBufferToBuffer(ds.lpOut, 0, feed.lpLog, j * B * 8, B * 8);
      },
      mark,
      (enc) => {
        // Row metadata is (token, pos, kvRow, kvBase) per row; targets (token, eos) per row.
        for (let b = 0; b < B; b++) {
          enc.copyBufferToBuffer(feed.next, b * 4, this.#act.rowsMeta, b * 16, 4);
          enc.copyBufferToBuffer(feed.next, b * 4, ds.targets, b * 8, 4);
        }
      },
    );
    ds.hasLogits = true;
  }

  /** Copies `steps` steps of a feed's logs to its staging buffer; the reader maps it. */
  async #greedyLogs(
    ds: DecodeState,
    feed: Feed,
    steps: number,
  ): Promise<() => Promise<GreedySteps>> {
    const B = ds.batch;
    const enc = this.context.device.createCommandEncoder();
    enc.copyBufferToBuffer(feed.log, 0, feed.staging, 0, steps * B * 4);
    enc.copyBufferToBuffer(feed.lpLog, 0, feed.staging, steps * B * 4, steps * B * 8);
    await this.#submit(enc);
    return async () => {
      const bytes = steps * B * 12;
      try {
        await feed.staging.mapAsync(GPUMapMode.READ, 0, bytes);
      } catch (cause) {
        this.context.checkAlive();
        throw new GpuError("device_lost", `Cannot read back greedy steps: ${cause}`, { cause });
      }
      const copy = feed.staging.getMappedRange(0, bytes).slice(0);
      feed.staging.unmap();
      const ids = new Uint32Array(copy, 0, steps * B);
      const lp = new Float32Array(copy, steps * B * 4, 2 * steps * B);
      return {
        tokens: Int32Array.from(ids, (x) => x & 0x7fffffff),
        nan: Uint8Array.from(ids, (x) => x >>> 31),
        logprobs: Float32Array.from({ length: steps * B }, (_, i) => lp[2 * i]),
      };
    };
  }

  /** The decode tail without a forward (log-probs of the last tokens, full logits). */
  async #decodeFinish(
    ds: DecodeState,
    plan: DecodePlan,
    mark?: PhaseMark,
  ): Promise<Reader> {
    this.#check();
    const enc = this.context.device.createCommandEncoder();
    this.#encodeDecode(enc, ds, plan, false);
    await this.#submit(enc);
    mark?.("submit");
    return () => this.#decodeRead(ds, plan, mark);
  }

  /**
   * The proof forward: per sequence, the final hidden states, the log-probs of each next token,
   * EOS probabilities where asked and, with `sketchCoefficients`, GPU sketches of every position.
   * Sequences are packed into passes of R rows; results do not depend on the packing.
   *
   * @param sequences Token sequences (each non-empty, ids in [0, V)).
   * @param options EOS positions, sketch coefficients.
   * @returns One result per sequence.
   * @throws {ModelError} bad_token, bad_input (empty sequence, one longer than the proof cache,
   *   bad EOS position), disposed.
   */
  proofForward(
    sequences: readonly (readonly number[])[],
    options: WebGpuProofForwardOptions = {},
  ): Promise<WebGpuProofForwardResult[]> {
    return this.#exclusive(() => this.#proofForward(sequences, options));
  }

  async #proofForward(
    sequences: readonly (readonly number[])[],
    options: WebGpuProofForwardOptions,
  ): Promise<WebGpuProofForwardResult[]> {
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
      this.context.write(this.#act.coeffs, 0, Int32Array.from(coeffs));
    }
    const sketchOp = coeffs === undefined ? null : this.#sketchOp(coeffs.length);
    this.#proofKv ??= this.#kvCache(this.proofCapacityTokens, "proof");
    const kv = this.#proofKv;
    const results = emptyProofResults(sequences, C, eosPositions, coeffs !== undefined);
    for (const rows of proofRowGroups(sequences, kv.capacity, eosPositions, eosId, NONE)) {
      for (let r0 = 0; r0 < rows.length; r0 += this.maxRowsPerPass) {
        const chunk = rows.slice(r0, r0 + this.maxRowsPerPass);
        const n = chunk.length;
        const targets = new Uint32Array(2 * n);
        chunk.forEach((r, i) => targets.set([r.target, r.eos], 2 * i));
        this.context.write(this.#act.targets, 0, targets);
        await this.#forward(kv, chunk);
        await this.#logprobs(n);
        if (sketchOp) {
          this.#setRun(n, 0);
          const enc = this.context.device.createCommandEncoder();
          const rec = new PassRecorder(enc, this.#prof);
          rec.run(sketchOp, n, "sketch");
          rec.end();
          await this.#submit(enc);
        }
        const [hidden, lp, sk] = await Promise.all([
          this.context.read(this.#act.fin, 0, n * C * 4),
          this.context.read(this.#act.lpOut, 0, n * 8),
          sketchOp ? this.context.read(this.#act.sketchOut, 0, n * 4) : Promise.resolve(null),
        ]);
        const h = new Float32Array(hidden);
        const sketches = sk ? new Uint32Array(sk) : null;
        chunk.forEach((r, i) => {
          const res = results[r.seq];
          res.hidden.set(h.subarray(i * C, (i + 1) * C), r.pos * C);
          if (sketches) res.sketches![r.pos] = sketches[i];
        });
        storeLogprobs(results, chunk, new Float32Array(lp), eosPositions, NONE);
      }
    }
    return results;
  }

  #sketchOp(k: number): Dispatch {
    let op = this.#sketchOps.get(k);
    if (!op) {
      const a = this.#act;
      const before = this.context.snapshot();
      op = this.#k.sketch.bind(a.run, a.fin, a.coeffs, a.sketchOut, this.hiddenSize, k);
      this.#owned.push(...this.context.createdSince(before));
      this.#sketchOps.set(k, op);
    }
    return op;
  }

  /**
   * Sketches of arbitrary hidden rows on this model's device (the GPU twin of the protocol's
   * `sketches`).
   *
   * @param hidden [rows, C] float32.
   * @param coeffs Sketch coefficients.
   * @returns One sketch per row.
   */
  sketches(hidden: Float32Array, coeffs: Int8Array): Promise<Uint32Array> {
    this.#check();
    return this.#exclusive(() => this.#k.sketch.sketches(hidden, this.hiddenSize, coeffs));
  }

  /**
   * A KV-cached generation session of `batch` rows, up to `maxLenTokens` positions each.
   *
   * @param batch B.
   * @param maxLenTokens Positions per row (prompt + completion).
   * @returns The session.
   * @throws {RangeError} On a non-positive size.
   */
  startGeneration(batch: number, maxLenTokens: number): WebGpuGenerationSession {
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
    const kv = this.#kvCache(batch * maxLenTokens, "session", maxLenTokens, batch);
    const ds = this.#decodeState(kv, batch, maxLenTokens);
    const ops: SessionOps = {
      exclusive: (fn) => this.#exclusive(fn),
      run: (rows, copies, after) => this.#runSessionRows(kv, rows, copies, after),
      logits: (n) => this.#lastLogits(n),
      hidden: (n) => this.#lastHidden(kv, n),
      decode: ds === null ? null : {
        state: ds,
        run: (rows, copies, after, plan, mark) =>
          this.#decodeRun(kv, ds, rows, copies, after, plan, mark),
        finish: (plan, mark) => this.#decodeFinish(ds, plan, mark),
        sampler: (m, limit) => this.#sampler(ds, m, limit),
        feed: (sampler, steps) => this.#feed(ds, sampler, steps),
        greedyStep: (feed, rows, j, mark) => this.#greedyStep(kv, ds, feed, rows, j, mark),
        greedyLogs: (feed, steps) => this.#greedyLogs(ds, feed, steps),
      },
    };
    const session = new WebGpuGenerationSession(this, ops, kv, batch, maxLenTokens, () => {
      this.#releaseKv(kv);
      this.#sessions.delete(session);
    });
    this.#sessions.add(session);
    return session;
  }

  /** Frees the weights and caches (and the context when the model created it). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const s of [...this.#sessions]) s.dispose();
    if (this.#ownsContext) {
      this.context.destroy();
      return;
    }
    if (this.#proofKv) this.#releaseKv(this.#proofKv);
    this.#prof?.destroy();
    for (const b of this.#owned) this.context.release(b);
    this.#owned.length = 0;
  }
}

/** Host phases of a decode call, in order. */
export type DecodePhase = "write" | "encode" | "submit" | "wait" | "read";

/**
 * Milliseconds a session spent in each host phase of its prefill/step calls since the last
 * reset: write (row metadata and tokens to the device), encode (command recording), submit,
 * wait (`mapAsync`: the GPU's work plus the runtime's polling), read (copying out and splitting
 * the mapped bytes).
 */
export interface DecodePhaseTimes {
  /** Calls measured. */
  calls: number;
  /** Milliseconds per phase, summed over the calls. */
  ms: Record<DecodePhase, number>;
}

/** What a session may ask of its model (closures over the model's private state). */
interface SessionOps {
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  run(
    rows: readonly RowSpec[],
    copies: readonly [number, number][],
    after?: (enc: GPUCommandEncoder) => void,
  ): Promise<void>;
  logits(n: number): Promise<Float32Array>;
  hidden(n: number): Promise<Float32Array>;
  /** The fused decode path; null when B rows of logits exceed one binding. */
  decode: {
    state: DecodeState;
    run(
      rows: readonly RowSpec[],
      copies: readonly [number, number][],
      after: ((enc: GPUCommandEncoder) => void) | undefined,
      plan: DecodePlan | null,
      mark?: PhaseMark,
    ): Promise<Reader | null>;
    finish(plan: DecodePlan, mark?: PhaseMark): Promise<Reader>;
    sampler(m: number, limit: number): Sampler;
    feed(sampler: Sampler, steps: number): Feed;
    greedyStep(feed: Feed, rows: readonly RowSpec[], j: number, mark?: PhaseMark): Promise<void>;
    greedyLogs(feed: Feed, steps: number): Promise<() => Promise<GreedySteps>>;
  } | null;
}

/**
 * A KV-cached generation session (see {@link WebGpuModel.startGeneration}). Where its B rows of
 * logits fit one binding, every prefill and step is one command buffer (forward, lm_head into a
 * logits buffer of the session's own, and with {@link DeviceSelect} the log-probs of the fed
 * tokens and each row's candidates) and one readback.
 *
 * @example Two greedy-ish steps through the device path (skipped where there is no adapter)
 * ```ts
 * import { makeTinyModel } from "../model/tiny.ts";
 * import { openCheckpoint } from "../model/checkpoint.ts";
 * import { WebGpuModel } from "./webgpu_model.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const dir = await Deno.makeTempDir();
 *   await makeTinyModel(dir, { architecture: "qwen3", seed: 2 });
 *   const ckpt = await openCheckpoint(dir);
 *   const model = await WebGpuModel.load(ckpt);
 *   ckpt.close();
 *   const session = model.startGeneration(2, 8);
 *   const request = { topM: 4, gatherSeen: false };
 *   const first = await session.select!.prefill([[1, 2], [3]], request);
 *   const next = await session.select!.step(first.candidates.map((c) => c.ids[0]), request);
 *   const calls = session.phaseTimes().calls;
 *   session.dispose();
 *   model.dispose();
 *   await Deno.remove(dir, { recursive: true });
 *   if (next.logprobs!.length !== 2 || calls !== 2) throw new Error();
 * }
 * ```
 */
export class WebGpuGenerationSession implements GenerationSession {
  readonly #model: WebGpuModel;
  readonly #ops: SessionOps;
  readonly #kv: KvCache;
  readonly #batch: number;
  readonly #maxLen: number;
  readonly #onDispose: () => void;
  #lens: number[] | null = null;
  #disposed = false;
  /** Per row, its distinct ids in first-seen order (prompt and fed tokens), and how many are on the device. */
  #seen: { list: number[]; set: Set<number>; synced: number }[];
  #phases: DecodePhaseTimes = {
    calls: 0,
    ms: { write: 0, encode: 0, submit: 0, wait: 0, read: 0 },
  };
  /** This session's calls, one after another (each waits for the previous one's readback). */
  #chain: Promise<unknown> = Promise.resolve();
  /** Device-side selection; absent when the fused decode path is unavailable. */
  readonly select?: DeviceSelect;

  /**
   * Made by {@link WebGpuModel.startGeneration}.
   *
   * @param model The model.
   * @param ops Closures over the model's state.
   * @param kv The session's cache.
   * @param batch B.
   * @param maxLen Positions per row.
   * @param onDispose Frees the cache.
   */
  constructor(
    model: WebGpuModel,
    ops: SessionOps,
    kv: KvCache,
    batch: number,
    maxLen: number,
    onDispose: () => void,
  ) {
    this.#model = model;
    this.#ops = ops;
    this.#kv = kv;
    this.#batch = batch;
    this.#maxLen = maxLen;
    this.#onDispose = onDispose;
    this.#seen = Array.from({ length: batch }, () => ({ list: [], set: new Set(), synced: 0 }));
    if (ops.decode) {
      this.select = {
        prefill: (prompts, request) => this.#call(() => this.#selectPrefill(prompts, request)),
        step: (tokens, request) => this.#call(() => this.#selectStep(tokens, request)),
        logits: () => this.#call(() => this.#latestLogits()),
        logprobs: (tokens) => this.#call(() => this.#lastLogprobs(tokens)),
        greedy: (tokens, steps, request) => this.#call(() => this.#greedy(tokens, steps, request)),
      };
    }
  }

  /**
   * Host time per phase of the calls so far (see {@link DecodePhaseTimes}).
   *
   * @returns A copy of the totals.
   */
  phaseTimes(): DecodePhaseTimes {
    return { calls: this.#phases.calls, ms: { ...this.#phases.ms } };
  }

  /** Clears the phase totals. */
  resetPhaseTimes(): void {
    this.#phases = { calls: 0, ms: { write: 0, encode: 0, submit: 0, wait: 0, read: 0 } };
  }

  /**
   * Runs a call in two stages: `submit` inside the model's exclusive section (shared activation
   * buffers), then its readback outside it, so that another session's step can run on the GPU
   * while this one waits on `mapAsync`. Calls of this session stay in order.
   */
  #call<T>(submit: () => Promise<() => Promise<T>>): Promise<T> {
    const run = async () => {
      const finish = await this.#ops.exclusive(submit);
      return await finish();
    };
    const next = this.#chain.then(run, run);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  /** A mark function timing one call's phases into the totals. */
  #timer(): PhaseMark {
    let last = performance.now();
    this.#phases.calls++;
    return (phase) => {
      const t = performance.now();
      this.#phases.ms[phase] += t - last;
      last = t;
    };
  }

  #check(): void {
    if (this.#disposed) {
      throw new ModelError("disposed", "Cannot use the generation session: it was disposed");
    }
  }

  #checkTokens(tokens: readonly number[], where: string): void {
    tokens.forEach((t, i) => checkToken(t, this.#model.vocabSize, `${where} ${i}`));
  }

  #see(b: number, id: number): void {
    const s = this.#seen[b];
    if (!s.set.has(id)) {
      s.set.add(id);
      s.list.push(id);
    }
  }

  /**
   * Runs the prompts; rows with identical prompts are computed once and their KV copied.
   *
   * @param prompts B prompts.
   * @returns Logits [B*V] at each row's last prompt position.
   */
  prefill(prompts: readonly (readonly number[])[]): Promise<Float32Array> {
    return this.#call(async () => {
      const reader = await this.#prefill(prompts, () => ({ ...NO_PLAN, fullLogits: true }));
      if (reader) return async () => (await reader()).logits!;
      const logits = await this.#ops.logits(this.#batch);
      return () => Promise.resolve(logits);
    });
  }

  /** `makePlan` runs once the rows' seen ids are known (it sizes the gathers). */
  async #prefill(
    prompts: readonly (readonly number[])[],
    makePlan: () => DecodePlan,
  ): Promise<Reader | null> {
    this.#check();
    const B = this.#batch;
    checkPrompts(prompts, B, this.#maxLen, this.#model.vocabSize, this.#lens !== null);
    const { rows, source, lastRowOf } = sharedPromptRows(prompts, this.#maxLen);
    prompts.forEach((p, b) => p.forEach((id) => this.#see(b, id)));
    const R = this.#model.maxRowsPerPass;
    const decode = this.#ops.decode;
    const plan = decode ? makePlan() : NO_PLAN;
    let read: Reader | null = null;
    for (let r0 = 0; r0 < rows.length; r0 += R) {
      const chunk = rows.slice(r0, r0 + R);
      const copies: [number, number][] = [];
      for (let b = 0; b < B; b++) {
        const last = lastRowOf.get(source[b])!;
        if (last >= r0 && last < r0 + chunk.length) copies.push([last - r0, b]);
      }
      const final = r0 + R >= rows.length;
      const after = final
        ? (enc: GPUCommandEncoder) => this.#shareKv(enc, prompts, source)
        : undefined;
      if (decode) {
        if (final) this.#syncSeen(plan);
        const mark = final ? this.#timer() : undefined;
        read = await decode.run(chunk, copies, after, final ? plan : null, mark);
      } else {
        await this.#ops.run(chunk, copies, after);
      }
    }
    this.#lens = prompts.map((p) => p.length);
    return read;
  }

  #shareKv(
    enc: GPUCommandEncoder,
    prompts: readonly (readonly number[])[],
    source: number[],
  ): void {
    const { numKvHeads: NKV, headDim: HS } = this.#model.config;
    const rowBytes = NKV * HS * 4;
    const stride = this.#maxLen * rowBytes;
    // WebGPU forbids copies within one buffer: each owner's rows go through a scratch buffer.
    for (const owner of new Set(source)) {
      const dups = source.flatMap((src, b) => (src === owner && b !== owner ? [b] : []));
      if (dups.length === 0) continue;
      const bytes = prompts[owner].length * rowBytes;
      for (const buf of this.#kv.layers) {
        enc.copyBufferToBuffer(buf, owner * stride, this.#kv.scratch, 0, bytes);
        for (const b of dups) enc.copyBufferToBuffer(this.#kv.scratch, 0, buf, b * stride, bytes);
      }
    }
  }

  /**
   * Appends one token per row.
   *
   * @param tokens B tokens.
   * @returns Logits [B*V] at the new positions.
   */
  step(tokens: readonly number[]): Promise<Float32Array> {
    return this.#call(async () => {
      const reader = await this.#step(tokens, () => ({ ...NO_PLAN, fullLogits: true }));
      if (reader) return async () => (await reader()).logits!;
      const logits = await this.#ops.logits(this.#batch);
      return () => Promise.resolve(logits);
    });
  }

  /** `makePlan` runs once the tokens are seen (it sizes the gathers). */
  async #step(
    tokens: readonly number[],
    makePlan: () => DecodePlan,
  ): Promise<Reader | null> {
    this.#check();
    const B = this.#batch;
    if (this.#lens === null) throw new ModelError("state", "Cannot step before prefill");
    if (tokens.length !== B) {
      throw new ModelError("bad_input", `Expected ${B} tokens (one per row), got ${tokens.length}`);
    }
    this.#checkTokens(tokens, "row");
    const lens = this.#lens;
    const rows: RowSpec[] = tokens.map((token, b) => {
      if (lens[b] >= this.#maxLen) {
        throw new ModelError(
          "cache_full",
          `Row ${b} holds ${lens[b]} of ${this.#maxLen} positions; cannot append`,
        );
      }
      const base = b * this.#maxLen;
      return { token, pos: lens[b], kvRow: base + lens[b], kvBase: base };
    });
    const copies = rows.map((_, b): [number, number] => [b, b]);
    const decode = this.#ops.decode;
    let read: Reader | null = null;
    tokens.forEach((id, b) => this.#see(b, id));
    if (decode) {
      const mark = this.#timer();
      const plan = makePlan();
      if (plan.logprob) this.#writeTargets(tokens);
      this.#syncSeen(plan);
      read = await decode.run(rows, copies, undefined, plan, mark);
    } else {
      await this.#ops.run(rows, copies);
    }
    for (let b = 0; b < B; b++) lens[b]++;
    return read;
  }

  #writeTargets(tokens: readonly number[]): void {
    const t = new Uint32Array(2 * this.#batch);
    tokens.forEach((id, b) => t.set([id, LOGPROB_NONE], 2 * b));
    this.#model.context.write(this.#ops.decode!.state.targets, 0, t);
  }

  /** Writes ids not yet on the device into the gather lists (only when the plan gathers). */
  #syncSeen(plan: DecodePlan): void {
    if (!plan.gather) return;
    const ds = this.#ops.decode!.state;
    const ctx = this.#model.context;
    let changed = false;
    this.#seen.forEach((s, b) => {
      if (s.synced === s.list.length) return;
      const ids = Uint32Array.from(s.list.slice(s.synced));
      ctx.write(ds.seen, (b * ds.gatherWidth + s.synced) * 4, ids);
      s.synced = s.list.length;
      changed = true;
    });
    if (changed) {
      ctx.write(ds.seenCount, 0, Uint32Array.from(this.#seen, (s) => s.list.length));
    }
  }

  #plan(request: CandidateRequest, logprob: boolean): DecodePlan {
    const decode = this.#ops.decode!;
    const V = this.#model.vocabSize;
    const m = request.topM;
    if (!Number.isInteger(m) || m < 1 || m >= V) {
      throw new RangeError(`Invalid topM: got ${m}, expected an integer in [1, ${V})`);
    }
    const limit = request.vocabLimit ?? V;
    return {
      logprob,
      sampler: decode.sampler(m, Math.min(limit, V)),
      // The gather lists are read after this call's tokens are seen (sizes known now).
      gather: request.gatherSeen ? this.#seen.map((s) => s.list.length) : null,
      fullLogits: false,
    };
  }

  #candidates(read: DecodeReadback, plan: DecodePlan): RowCandidates[] {
    const m = plan.sampler!.m;
    const stride = candidateRowWords(m);
    return this.#seen.map((s, b) =>
      decodeCandidateRow(
        read.top!.subarray(b * stride, (b + 1) * stride),
        m,
        plan.gather ? s.list.slice() : [],
        read.gathered?.[b] ?? new Float32Array(0),
      )
    );
  }

  async #selectPrefill(
    prompts: readonly (readonly number[])[],
    request: CandidateRequest,
  ): Promise<() => Promise<SelectResult>> {
    this.#check();
    let plan = NO_PLAN;
    const reader = (await this.#prefill(prompts, () => (plan = this.#plan(request, false))))!;
    return async () => ({ candidates: this.#candidates(await reader(), plan), logprobs: null });
  }

  async #selectStep(
    tokens: readonly number[],
    request: CandidateRequest,
  ): Promise<() => Promise<SelectResult>> {
    this.#check();
    let plan = NO_PLAN;
    const hasLogits = this.#ops.decode!.state.hasLogits;
    const reader = (await this.#step(tokens, () => (plan = this.#plan(request, hasLogits))))!;
    return async () => {
      const read = await reader();
      return { candidates: this.#candidates(read, plan), logprobs: read.logprobs };
    };
  }

  async #greedy(
    tokens: readonly number[],
    steps: number,
    request: CandidateRequest,
  ): Promise<() => Promise<GreedySteps>> {
    this.#check();
    const decode = this.#ops.decode!;
    const B = this.#batch;
    if (!decode.state.hasLogits || this.#lens === null) {
      throw new ModelError("state", "Cannot run greedy steps before prefill");
    }
    if (tokens.length !== B) {
      throw new ModelError("bad_input", `Expected ${B} tokens (one per row), got ${tokens.length}`);
    }
    this.#checkTokens(tokens, "row");
    const lens = this.#lens;
    const room = this.#maxLen - Math.max(...lens);
    if (!Number.isInteger(steps) || steps < 1 || steps > room) {
      throw new ModelError(
        "cache_full",
        `Invalid greedy steps ${steps}: expected an integer in [1, ${room}] (positions left per row)`,
      );
    }
    if (request.gatherSeen) {
      throw new RangeError(
        "Invalid request for greedy steps: gatherSeen (a repetition penalty) needs the host each step",
      );
    }
    const sampler = this.#plan(request, false).sampler!;
    const feed = decode.feed(sampler, steps);
    const ctx = this.#model.context;
    ctx.write(feed.next, 0, Uint32Array.from(tokens));
    const targets = new Uint32Array(2 * B).fill(LOGPROB_NONE);
    for (let j = 0; j < steps; j++) {
      // Tokens are copied in on the device; 0 is a placeholder the copy overwrites.
      const rows: RowSpec[] = lens.map((l, b) => ({
        token: 0,
        pos: l,
        kvRow: b * this.#maxLen + l,
        kvBase: b * this.#maxLen,
      }));
      ctx.write(decode.state.targets, 0, targets);
      await decode.greedyStep(feed, rows, j, this.#timer());
      for (let b = 0; b < B; b++) lens[b]++;
    }
    const read = await decode.greedyLogs(feed, steps);
    return async () => {
      const out = await read();
      // The fed tokens: `tokens`, then each step's argmax but the last.
      tokens.forEach((id, b) => this.#see(b, id));
      for (let i = 0; i < (steps - 1) * B; i++) this.#see(i % B, out.tokens[i]);
      return out;
    };
  }

  async #latestLogits(): Promise<() => Promise<Float32Array>> {
    this.#check();
    const decode = this.#ops.decode!;
    if (!decode.state.hasLogits) throw new ModelError("state", "No logits before prefill");
    const reader = await decode.finish({ ...NO_PLAN, fullLogits: true });
    return async () => (await reader()).logits!;
  }

  async #lastLogprobs(tokens: readonly number[]): Promise<() => Promise<Float32Array>> {
    this.#check();
    const decode = this.#ops.decode!;
    if (!decode.state.hasLogits) throw new ModelError("state", "No logits before prefill");
    if (tokens.length !== this.#batch) {
      throw new ModelError(
        "bad_input",
        `Expected ${this.#batch} tokens (one per row), got ${tokens.length}`,
      );
    }
    this.#checkTokens(tokens, "row");
    this.#writeTargets(tokens);
    const reader = await decode.finish({ ...NO_PLAN, logprob: true });
    return async () => (await reader()).logprobs!;
  }

  /**
   * Final hidden states [B*C] at each row's last processed position.
   *
   * @returns The hidden rows.
   */
  lastHidden(): Promise<Float32Array> {
    this.#check();
    if (this.#lens === null) throw new ModelError("state", "No hidden states before prefill");
    return this.#call(async () => {
      const hidden = await this.#ops.hidden(this.#batch);
      return () => Promise.resolve(hidden);
    });
  }

  /** Frees the cache. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#onDispose();
  }
}

const NO_PLAN: DecodePlan = { logprob: false, sampler: null, gather: null, fullLogits: false };
