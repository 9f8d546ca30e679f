/**
 * The WebGPU training kernels (f32): the backward of every op of the forward — matmul (input,
 * weight and bias gradients), RMSNorm, RoPE, causal GQA attention, SwiGLU, embedding,
 * log-softmax/entropy of the completion logits — plus AdamW with the clipping norm. Each kernel
 * family lives in its own `shaders/*_backward.wgsl` (AdamW in `shaders/adamw.wgsl`); this file
 * compiles them once and binds dispatches whose grid follows the WGSL headers. Every kernel is
 * checked against the float64 CPU reference of `src/train/_cpu_ops.ts` in
 * `tests/gpu/train/backward_kernels_test.ts`.
 *
 * Dimension legend: T positions, C hidden, V vocab, NH/NKV heads, HS head size, FF MLP width.
 *
 * @module
 */

import matmulCode from "../../../shaders/matmul_backward.wgsl" with { type: "text" };
import rmsnormCode from "../../../shaders/rmsnorm_backward.wgsl" with { type: "text" };
import ropeCode from "../../../shaders/rope_backward.wgsl" with { type: "text" };
import attentionCode from "../../../shaders/attention_backward.wgsl" with { type: "text" };
import swigluCode from "../../../shaders/swiglu_backward.wgsl" with { type: "text" };
import embeddingCode from "../../../shaders/embedding_backward.wgsl" with { type: "text" };
import logprobCode from "../../../shaders/logprob_backward.wgsl" with { type: "text" };
import adamwCode from "../../../shaders/adamw.wgsl" with { type: "text" };
import type { Dispatch, GpuContext } from "../context.ts";
import {
  bindKernel,
  type BoundKernel,
  type CompiledKernel,
  compileKernel,
  uniformWords,
} from "./_kernel.ts";

/** GEMM tile edge (threads per workgroup = TILE²). */
export const GEMM_TILE = 16;
/** Outputs per thread along each axis of the register-tiled GEMM (RT² ≤ 16). */
export const GEMM_RT = 4;
/** Threads per row-reduction workgroup (RMSNorm, log-softmax, AdamW); a power of two. */
export const ROW_WG = 256;
/** Threads per workgroup of the attention, RoPE and embedding kernels; a power of two. */
export const SMALL_WG = 64;
/** Elements each AdamW norm thread sums before the tree. */
export const SUMSQ_PER_THREAD = 16;
/** Gradient elements per norm partial. */
export const SUMSQ_CHUNK: number = ROW_WG * SUMSQ_PER_THREAD;

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
/** Most workgroups per grid dimension WebGPU guarantees. */
const MAX_GRID = 65535;
/** A 1-D count of workgroups as a 2-D grid within the per-dimension limit. */
const grid2d = (groups: number): [number, number, number] => [
  Math.min(groups, MAX_GRID),
  Math.ceil(groups / MAX_GRID),
  1,
];
const ATT_LAYOUT: ("uniform" | "read" | "read_write")[] = [
  "uniform",
  "read",
  "read",
  "read",
  "read",
  "read_write",
  "read_write",
  "read_write",
  "read_write",
  "read_write",
];

/**
 * Compiled training kernels of one device; `bind*` methods make dispatches over caller-owned
 * buffers (borrowed: the caller keeps them alive while the dispatch is used).
 *
 * @example
 * ```ts ignore
 * const k = await BackwardKernels.create(ctx);
 * encodeDispatch(pass, k.bindGemm(...), 0);
 * ```
 */
export class BackwardKernels {
  readonly #ctx: GpuContext;
  readonly #k: Record<string, CompiledKernel>;
  // Fillers for bindings an entry point does not use: one for read slots, one for read_write
  // slots (a buffer may not be bound both ways in one bind group).
  readonly #dummyRead: GPUBuffer;
  readonly #dummyWrite: GPUBuffer;

  private constructor(ctx: GpuContext, kernels: Record<string, CompiledKernel>) {
    this.#ctx = ctx;
    this.#k = kernels;
    this.#dummyRead = ctx.storage(16, "train-dummy-read");
    this.#dummyWrite = ctx.storage(16, "train-dummy-write");
  }

  /**
   * Compiles every training kernel.
   *
   * @param ctx The device context.
   * @returns The kernels.
   * @throws {GpuError} code "shader" when a kernel does not compile.
   */
  static async create(ctx: GpuContext): Promise<BackwardKernels> {
    const rw = "read_write" as const, r = "read" as const, u = "uniform" as const;
    const entries: [
      string,
      string,
      Record<string, number>,
      ("uniform" | "read" | "read_write")[],
    ][] = [
      [matmulCode, "matmul_backward_gemm", { TILE: GEMM_TILE }, [u, r, r, rw]],
      [matmulCode, "matmul_backward_gemm_rt", { TILE: GEMM_TILE, RT: GEMM_RT }, [u, r, r, rw]],
      [matmulCode, "matmul_backward_bias", { TILE: GEMM_TILE }, [u, r, r, rw]],
      [matmulCode, "matmul_add_bias", { TILE: GEMM_TILE }, [u, r, r, rw]],
      [rmsnormCode, "rmsnorm_backward_rows", { WG: ROW_WG }, [u, r, r, r, rw, rw, rw]],
      [rmsnormCode, "rmsnorm_backward_weight", { WG: ROW_WG }, [u, r, r, r, rw, rw, rw]],
      [rmsnormCode, "rmsnorm_forward_rows", { WG: ROW_WG }, [u, r, r, r, rw, rw, rw]],
      [ropeCode, "rope_backward", { WG: SMALL_WG }, [u, r, r, rw]],
      [attentionCode, "attention_backward_scores", { WG: SMALL_WG }, [
        u,
        r,
        r,
        r,
        r,
        rw,
        rw,
        rw,
        rw,
        rw,
      ]],
      [attentionCode, "attention_backward_dq", { WG: SMALL_WG }, [
        u,
        r,
        r,
        r,
        r,
        rw,
        rw,
        rw,
        rw,
        rw,
      ]],
      [attentionCode, "attention_forward_probs", { WG: SMALL_WG }, ATT_LAYOUT],
      [attentionCode, "attention_forward_out", { WG: SMALL_WG }, ATT_LAYOUT],
      [attentionCode, "attention_backward_dkv", { WG: SMALL_WG }, [
        u,
        r,
        r,
        r,
        r,
        rw,
        rw,
        rw,
        rw,
        rw,
      ]],
      [swigluCode, "swiglu_backward", { WG: ROW_WG }, [u, r, r, r, rw, rw]],
      [swigluCode, "swiglu_forward", { WG: ROW_WG }, [u, r, r, r, rw, rw]],
      [embeddingCode, "embedding_backward", { WG: SMALL_WG }, [u, r, r, r, r, rw]],
      [embeddingCode, "embedding_forward", { WG: SMALL_WG }, [u, r, r, r, r, rw]],
      [logprobCode, "logprob_backward_rows", { WG: ROW_WG }, [u, r, r, r, r, rw, rw]],
      [adamwCode, "adamw_step", { WG: ROW_WG, PER_THREAD: SUMSQ_PER_THREAD }, [
        u,
        rw,
        r,
        rw,
        rw,
        rw,
      ]],
      [adamwCode, "adamw_sumsq", { WG: ROW_WG, PER_THREAD: SUMSQ_PER_THREAD }, [
        u,
        rw,
        r,
        rw,
        rw,
        rw,
      ]],
    ];
    const kernels: Record<string, CompiledKernel> = {};
    for (const [code, entry, constants, bindings] of entries) {
      kernels[entry] = await compileKernel(ctx, code, entry, constants, bindings);
    }
    return new BackwardKernels(ctx, kernels);
  }

  /**
   * c[M, N] = beta·c + Σ_k a(m, k)·b(k, n) with strided a and b (see matmul_backward.wgsl); the
   * register-tiled variant (default) gives the same bits as the simple one.
   * For y = x·wᵀ (x [T, IC], w [OC, IC], dy [T, OC]): dx = gemm(M=T, N=IC, K=OC, a=dy (OC, 1),
   * b=w (IC, 1)); dw += gemm(M=OC, N=IC, K=T, a=dy (1, OC), b=x (IC, 1), beta 1).
   *
   * @param a Left operand f32, read as a[m·aStrides[0] + k·aStrides[1]].
   * @param b Right operand f32, read as b[k·bStrides[0] + n·bStrides[1]].
   * @param c Output [M, N] f32.
   * @param dims M, N, K and beta (0 sets c, 1 adds to it).
   * @param aStrides (m, k) strides of a.
   * @param bStrides (k, n) strides of b.
   * @param variant Kernel (same bits either way).
   * @returns The dispatch.
   */
  bindGemm(
    a: GPUBuffer,
    b: GPUBuffer,
    c: GPUBuffer,
    dims: { M: number; N: number; K: number; beta: 0 | 1 },
    aStrides: [number, number],
    bStrides: [number, number],
    variant: "register_tiled" | "simple" = "register_tiled",
  ): Dispatch {
    const { M, N, K, beta } = dims;
    const edge = variant === "simple" ? GEMM_TILE : GEMM_TILE * GEMM_RT;
    return bindKernel(
      this.#ctx,
      variant === "simple" ? this.#k.matmul_backward_gemm : this.#k.matmul_backward_gemm_rt,
      [
        { u32: M },
        { u32: N },
        { u32: K },
        { f32: beta },
        { u32: aStrides[0] },
        { u32: aStrides[1] },
        { u32: bStrides[0] },
        { u32: bStrides[1] },
      ],
      [a, b, c],
      [ceilDiv(N, edge), ceilDiv(M, edge), 1],
    );
  }

  /**
   * db[OC] += Σ_t dy[t, OC] over T rows.
   *
   * @param dy Gradient of the output [T, OC] f32.
   * @param db Bias gradient [OC] f32 (accumulated).
   * @param T Rows.
   * @param OC Output features.
   * @param dummy Any small buffer not bound elsewhere in the pass (fills the unused binding).
   * @returns The dispatch.
   */
  bindBiasGrad(dy: GPUBuffer, db: GPUBuffer, T: number, OC: number, dummy: GPUBuffer): Dispatch {
    return bindKernel(
      this.#ctx,
      this.#k.matmul_backward_bias,
      [
        { u32: T },
        { u32: OC },
        { u32: 0 },
        { f32: 1 },
        { u32: 0 },
        { u32: 0 },
        { u32: 0 },
        { u32: 0 },
      ],
      [dy, dummy, db],
      [ceilDiv(OC, GEMM_TILE * GEMM_TILE), 1, 1],
    );
  }

  /**
   * RMSNorm backward over `rows` rows of width D: [rows pass, weight pass] (encode both, in
   * order). dx is set, or added to with `accumulate` (the residual stream's gradient).
   *
   * @param dy Gradient of the output [rows, D] f32.
   * @param x Saved input [rows, D] f32.
   * @param w Weight [D] f32.
   * @param dx Gradient of the input [rows, D] f32 (out; must not be `dy`).
   * @param rstd Scratch [rows] f32 (inverse RMS, recomputed).
   * @param dw Weight gradient [D] f32 (accumulated).
   * @param dims rows, D, eps, accumulate.
   * @returns The two dispatches.
   */
  bindRmsnormBackward(
    dy: GPUBuffer,
    x: GPUBuffer,
    w: GPUBuffer,
    dx: GPUBuffer,
    rstd: GPUBuffer,
    dw: GPUBuffer,
    dims: { rows: number; D: number; eps: number; accumulate: boolean },
  ): [Dispatch, Dispatch] {
    const fields = [
      { u32: dims.rows },
      { u32: dims.D },
      { f32: dims.eps },
      { u32: dims.accumulate ? 1 : 0 },
    ];
    const bufs = [dy, x, w, dx, rstd, dw];
    return [
      bindKernel(this.#ctx, this.#k.rmsnorm_backward_rows, fields, bufs, [dims.rows, 1, 1]),
      bindKernel(this.#ctx, this.#k.rmsnorm_backward_weight, fields, bufs, [
        ceilDiv(dims.D, ROW_WG),
        1,
        1,
      ]),
    ];
  }

  /**
   * RoPE rotation of g [T, heads, HS] in place: sign +1 is the forward, −1 (default) the backward.
   *
   * @param cos cos table [T, HS/2] f32 (`ropeTable`).
   * @param sin sin table [T, HS/2] f32.
   * @param g Queries/keys or their gradient, rotated in place.
   * @param dims T, heads, HS and the sign.
   * @returns The dispatch.
   */
  bindRopeBackward(
    cos: GPUBuffer,
    sin: GPUBuffer,
    g: GPUBuffer,
    dims: { T: number; heads: number; HS: number; sign?: 1 | -1 },
  ): Dispatch {
    return bindKernel(
      this.#ctx,
      this.#k.rope_backward,
      [
        { u32: dims.T },
        { u32: dims.heads },
        { u32: dims.HS },
        { f32: dims.sign ?? -1 },
      ],
      [cos, sin, g],
      [ceilDiv(dims.T * dims.heads * dims.HS / 2, SMALL_WG), 1, 1],
    );
  }

  /**
   * Attention backward: [scores, dq, dkv] passes, encoded in that order.
   *
   * @param bufs q, k, v and dout (read); probs, dscores (scratch [NH, T, T]); dq, dk, dv (out).
   * @param dims T, NH, NKV, HS.
   * @returns The three dispatches.
   */
  bindAttentionBackward(
    bufs: {
      q: GPUBuffer;
      k: GPUBuffer;
      v: GPUBuffer;
      dout: GPUBuffer;
      probs: GPUBuffer;
      dscores: GPUBuffer;
      dq: GPUBuffer;
      dk: GPUBuffer;
      dv: GPUBuffer;
    },
    dims: { T: number; NH: number; NKV: number; HS: number },
  ): [Dispatch, Dispatch, Dispatch] {
    const { T, NH, NKV, HS } = dims;
    const fields = [
      { u32: T },
      { u32: NH },
      { u32: NKV },
      { u32: HS },
      { f32: 1 / Math.sqrt(HS) },
      { u32: 0 },
      { u32: 0 },
      { u32: 0 },
    ];
    const b = [
      bufs.q,
      bufs.k,
      bufs.v,
      bufs.dout,
      bufs.probs,
      bufs.dscores,
      bufs.dq,
      bufs.dk,
      bufs.dv,
    ];
    return [
      bindKernel(this.#ctx, this.#k.attention_backward_scores, fields, b, [T, NH, 1]),
      bindKernel(this.#ctx, this.#k.attention_backward_dq, fields, b, [
        ceilDiv(HS, SMALL_WG),
        T,
        NH,
      ]),
      bindKernel(this.#ctx, this.#k.attention_backward_dkv, fields, b, [
        ceilDiv(HS, SMALL_WG),
        T,
        NKV,
      ]),
    ];
  }

  /**
   * Training forward of attention: [probs, out] passes (out is written into `bufs.dq`).
   *
   * @param bufs As {@link BackwardKernels.bindAttentionBackward}; dout, dscores, dk, dv unused.
   * @param dims T, NH, NKV, HS.
   * @returns The two dispatches.
   */
  bindAttentionForward(
    bufs: {
      q: GPUBuffer;
      k: GPUBuffer;
      v: GPUBuffer;
      dout: GPUBuffer;
      probs: GPUBuffer;
      dscores: GPUBuffer;
      dq: GPUBuffer;
      dk: GPUBuffer;
      dv: GPUBuffer;
    },
    dims: { T: number; NH: number; NKV: number; HS: number },
  ): [Dispatch, Dispatch] {
    const { T, NH, NKV, HS } = dims;
    const fields = [
      { u32: T },
      { u32: NH },
      { u32: NKV },
      { u32: HS },
      { f32: 1 / Math.sqrt(HS) },
      { u32: 0 },
      { u32: 0 },
      { u32: 0 },
    ];
    const b = [
      bufs.q,
      bufs.k,
      bufs.v,
      bufs.dout,
      bufs.probs,
      bufs.dscores,
      bufs.dq,
      bufs.dk,
      bufs.dv,
    ];
    return [
      bindKernel(this.#ctx, this.#k.attention_forward_probs, fields, b, [T, NH, 1]),
      bindKernel(this.#ctx, this.#k.attention_forward_out, fields, b, [
        ceilDiv(HS, SMALL_WG),
        T,
        NH,
      ]),
    ];
  }

  /**
   * y (rows, D) = rmsnorm(x)·w, keeping rstd (rows) for the backward.
   *
   * @param x Input [rows, D] f32.
   * @param w Weight [D] f32.
   * @param y Output [rows, D] f32.
   * @param rstd Inverse RMS per row [rows] f32 (out).
   * @param dims rows, D, eps.
   * @returns The dispatch.
   */
  bindRmsnormForward(
    x: GPUBuffer,
    w: GPUBuffer,
    y: GPUBuffer,
    rstd: GPUBuffer,
    dims: { rows: number; D: number; eps: number },
  ): Dispatch {
    return bindKernel(
      this.#ctx,
      this.#k.rmsnorm_forward_rows,
      [
        { u32: dims.rows },
        { u32: dims.D },
        { f32: dims.eps },
        { u32: 0 },
      ],
      [this.#dummyRead, x, w, y, rstd, this.#dummyWrite],
      [dims.rows, 1, 1],
    );
  }

  /**
   * h = silu(gate)·up over n elements.
   *
   * @param gate Gate projections [n] f32.
   * @param up Up projections [n] f32.
   * @param h Output [n] f32.
   * @param n Elements.
   * @returns The dispatch.
   */
  bindSwigluForward(
    gate: GPUBuffer,
    up: GPUBuffer,
    h: GPUBuffer,
    n: number,
  ): Dispatch {
    return bindKernel(
      this.#ctx,
      this.#k.swiglu_forward,
      [
        { u32: n },
        { u32: 0 },
        { u32: 0 },
        { u32: 0 },
      ],
      [this.#dummyRead, gate, up, h, this.#dummyWrite],
      [ceilDiv(n, ROW_WG), 1, 1],
    );
  }

  /**
   * x[t, c] = E[tokens[t], c] for T positions.
   *
   * @param embed Embedding [V, C] f32.
   * @param tokens Token ids [T] u32.
   * @param x Output [T, C] f32.
   * @param dims C and T.
   * @returns The dispatch.
   */
  bindEmbeddingForward(
    embed: GPUBuffer,
    tokens: GPUBuffer,
    x: GPUBuffer,
    dims: { C: number; T: number },
  ): Dispatch {
    return bindKernel(
      this.#ctx,
      this.#k.embedding_forward,
      [
        { u32: dims.C },
        { u32: dims.T },
        { u32: 0 },
        { u32: 0 },
      ],
      [embed, this.#dummyRead, this.#dummyRead, tokens, x],
      [ceilDiv(dims.C, SMALL_WG), dims.T, 1],
    );
  }

  /**
   * y[t, o] += b[o] over T rows of OC.
   *
   * @param b Bias [OC] f32.
   * @param y Output [T, OC] f32 (added to).
   * @param T Rows.
   * @param OC Output features.
   * @returns The dispatch.
   */
  bindAddBias(b: GPUBuffer, y: GPUBuffer, T: number, OC: number): Dispatch {
    return bindKernel(
      this.#ctx,
      this.#k.matmul_add_bias,
      [
        { u32: T },
        { u32: OC },
        { u32: 0 },
        { f32: 1 },
        { u32: 0 },
        { u32: 0 },
        { u32: 0 },
        { u32: 0 },
      ],
      [b, this.#dummyRead, y],
      [ceilDiv(T * OC, GEMM_TILE * GEMM_TILE), 1, 1],
    );
  }

  /**
   * dgate, dup of h = silu(gate)·up over n elements.
   *
   * @param dh Gradient of h [n] f32.
   * @param gate Saved gate [n] f32.
   * @param up Saved up [n] f32.
   * @param dgate Output [n] f32.
   * @param dup Output [n] f32.
   * @param n Elements.
   * @returns The dispatch.
   */
  bindSwigluBackward(
    dh: GPUBuffer,
    gate: GPUBuffer,
    up: GPUBuffer,
    dgate: GPUBuffer,
    dup: GPUBuffer,
    n: number,
  ): Dispatch {
    return bindKernel(
      this.#ctx,
      this.#k.swiglu_backward,
      [
        { u32: n },
        { u32: 0 },
        { u32: 0 },
        { u32: 0 },
      ],
      [dh, gate, up, dgate, dup],
      [ceilDiv(n, ROW_WG), 1, 1],
    );
  }

  /**
   * dE[token rows] += the positions' dx, from the CSR grouping of {@link groupTokens}
   * (rows/starts/positions uploaded as u32).
   *
   * @param dx Gradient of the embedding output [T, C] f32.
   * @param rows Distinct token ids [U] u32.
   * @param starts CSR offsets [U + 1] u32.
   * @param positions Positions grouped by token [T] u32.
   * @param dEmbed Embedding gradient [V, C] f32 (accumulated).
   * @param dims C and U.
   * @returns The dispatch.
   */
  bindEmbeddingBackward(
    dx: GPUBuffer,
    rows: GPUBuffer,
    starts: GPUBuffer,
    positions: GPUBuffer,
    dEmbed: GPUBuffer,
    dims: { C: number; U: number },
  ): Dispatch {
    return bindKernel(
      this.#ctx,
      this.#k.embedding_backward,
      [
        { u32: dims.C },
        { u32: dims.U },
        { u32: 0 },
        { u32: 0 },
      ],
      [dx, rows, starts, positions, dEmbed],
      [ceilDiv(dims.C, SMALL_WG), dims.U, 1],
    );
  }

  /**
   * Per row of logits: stats (lp, H) and dz from ∂L/∂lp, ∂L/∂H.
   *
   * @param z Logits [rows, V] f32.
   * @param targets Next tokens [rows] u32.
   * @param dlp ∂L/∂lp per row [rows] f32 (0 where no loss).
   * @param dh ∂L/∂H per row [rows] f32.
   * @param dz Output [rows, V] f32.
   * @param stats Output [rows, 2] f32 (lp, H).
   * @param dims rows, V.
   * @returns The dispatch.
   */
  bindLogprobBackward(
    z: GPUBuffer,
    targets: GPUBuffer,
    dlp: GPUBuffer,
    dh: GPUBuffer,
    dz: GPUBuffer,
    stats: GPUBuffer,
    dims: { rows: number; V: number },
  ): Dispatch {
    return bindKernel(
      this.#ctx,
      this.#k.logprob_backward_rows,
      [
        { u32: dims.rows },
        { u32: dims.V },
        { u32: 0 },
        { u32: 0 },
      ],
      [z, targets, dlp, dh, dz, stats],
      [dims.rows, 1, 1],
    );
  }

  /**
   * Partial sums of squares of `grad` (n values) into `partials` (ceil(n / SUMSQ_CHUNK)).
   *
   * @param grad Gradient [n] f32.
   * @param partials Output [ceil(n / SUMSQ_CHUNK)] f32.
   * @param n Elements.
   * @param dummy A buffer not bound elsewhere (fills the optimiser slots).
   * @returns The dispatch.
   */
  bindSumSquares(grad: GPUBuffer, partials: GPUBuffer, n: number, dummy: GPUBuffer): Dispatch {
    return bindKernel(
      this.#ctx,
      this.#k.adamw_sumsq,
      adamwFields(n, 0, 0.9, 0.95, 1e-8, 0, 1, 1, 1),
      [
        dummy,
        grad,
        dummy,
        dummy,
        partials,
      ],
      [ceilDiv(n, SUMSQ_CHUNK), 1, 1],
    );
  }

  /**
   * One AdamW step of a tensor of n values (torch's rule; `clip` scales the gradient, the
   * clip-norm coefficient). `partials` is unused by the step but belongs to the layout.
   *
   * @param bufs Parameter, gradient, moments (f32, n each) and the norm partials.
   * @param n Elements.
   * @param h Hyper-parameters, step number (from 1) and clip coefficient.
   * @returns The dispatch; its scalars change through {@link updateAdamW}.
   */
  bindAdamW(
    bufs: { param: GPUBuffer; grad: GPUBuffer; m: GPUBuffer; v: GPUBuffer; partials: GPUBuffer },
    n: number,
    h: {
      lr: number;
      beta1: number;
      beta2: number;
      eps: number;
      weightDecay: number;
      step: number;
      clip: number;
    },
  ): BoundKernel {
    const bc1 = 1 - h.beta1 ** h.step;
    const bc2Sqrt = Math.sqrt(1 - h.beta2 ** h.step);
    return bindKernel(
      this.#ctx,
      this.#k.adamw_step,
      adamwFields(n, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, bc1, bc2Sqrt, h.clip),
      [bufs.param, bufs.grad, bufs.m, bufs.v, bufs.partials],
      grid2d(ceilDiv(n, ROW_WG)),
    );
  }
}

/**
 * Rewrites a bound AdamW dispatch's scalars (step, clip, lr) for the next optimiser step.
 *
 * @param ctx The context.
 * @param op What {@link BackwardKernels.bindAdamW} returned.
 * @param n Elements.
 * @param h Hyper-parameters of this step.
 */
export function updateAdamW(
  ctx: GpuContext,
  op: BoundKernel,
  n: number,
  h: {
    lr: number;
    beta1: number;
    beta2: number;
    eps: number;
    weightDecay: number;
    step: number;
    clip: number;
  },
): void {
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2Sqrt = Math.sqrt(1 - h.beta2 ** h.step);
  ctx.write(
    op.params,
    0,
    uniformWords(
      adamwFields(n, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, bc1, bc2Sqrt, h.clip),
    ),
  );
}

function adamwFields(
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  bc1: number,
  bc2Sqrt: number,
  clip: number,
) {
  return [
    { u32: n },
    { f32: lr },
    { f32: beta1 },
    { f32: beta2 },
    { f32: eps },
    { f32: weightDecay },
    { f32: bc1 },
    { f32: bc2Sqrt },
    { f32: clip },
    { u32: 0 },
    { u32: 0 },
    { u32: 0 },
  ];
}

/**
 * Groups a sequence's positions by token for the embedding backward: distinct tokens (`rows`),
 * CSR `starts` and the ascending `positions` of each.
 *
 * @param tokens Token ids (T).
 * @returns The grouping as u32 arrays.
 *
 * @example
 * ```ts
 * import { groupTokens } from "./backward_kernels.ts";
 * const g = groupTokens([5, 2, 5]);
 * if (g.rows.join() !== "2,5" || g.starts.join() !== "0,1,3" || g.positions.join() !== "1,0,2") {
 *   throw new Error();
 * }
 * ```
 */
export function groupTokens(
  tokens: readonly number[],
): { rows: Uint32Array; starts: Uint32Array; positions: Uint32Array } {
  const byToken = new Map<number, number[]>();
  tokens.forEach((id, t) => {
    const list = byToken.get(id);
    if (list === undefined) byToken.set(id, [t]);
    else list.push(t);
  });
  const rows = Uint32Array.from([...byToken.keys()].sort((a, b) => a - b));
  const starts = new Uint32Array(rows.length + 1);
  const positions = new Uint32Array(tokens.length);
  let k = 0;
  rows.forEach((id, u) => {
    starts[u] = k;
    for (const t of byToken.get(id)!) positions[k++] = t;
  });
  starts[rows.length] = k;
  return { rows, starts, positions };
}
