/**
 * Row-major GEMMs on cuBLASLt with the algorithm pinned per weight shape.
 *
 *   Y[M, N] = X[M, K] · W[N, K]ᵀ      (X activations, W a Hugging Face [out, in] weight; all three
 *                                      row-major and densely packed)
 *
 * cuBLASLt is column-major, so the call computes Yᵀ (N × M, ld N) = op(W) · Xᵀ with W seen as a
 * K × N column-major matrix transposed (TRANSA = T) and X as K × M (ld K).
 *
 * Precision: bf16 × bf16 with f32 accumulation (CUBLAS_COMPUTE_32F), output bf16 (rounded once,
 * to nearest even) or f32; or f32 × f32 with CUBLAS_COMPUTE_32F, which never uses TF32 (that
 * would be CUBLAS_COMPUTE_32F_FAST_TF32).
 *
 * Determinism and batch invariance: cuBLASLt's heuristic picks a kernel per problem size, and
 * for some sizes a split-K / reduction kernel whose summation order depends on M — so with the
 * default heuristic a row's bits could change with the batch. Here the heuristic is asked once
 * per (N, K, types) at a reference M with the reduction-scheme mask set to NONE (no split-K),
 * and that one algorithm is reused for every M: each output element is then one f32 accumulation
 * over K in the kernel's fixed order, whatever M or the row's place in it.
 *
 * @module
 */

import type { CudaContext, DeviceBuffer } from "./context.ts";
import { CudaError } from "./cuda_error.ts";
import { cString } from "./_ffi.ts";
import { type CublasLtLib, openCublasLt } from "./libraries.ts";

/** Element type of a GEMM operand. */
export type GemmType = "bf16" | "f32";

const CUDA_R_32F = 0;
const CUDA_R_16BF = 14;
const CUBLAS_COMPUTE_32F = 68;
const DESC_TRANSA = 3;
const OP_T = 1;
const PREF_MAX_WORKSPACE_BYTES = 1;
const PREF_REDUCTION_SCHEME_MASK = 3;
const ALGO_BYTES = 64;
const HEURISTIC_BYTES = 96;
const HEURISTIC_COUNT = 8;

const STATUS_NAMES: Record<number, string> = {
  1: "CUBLAS_STATUS_NOT_INITIALIZED",
  3: "CUBLAS_STATUS_ALLOC_FAILED",
  7: "CUBLAS_STATUS_INVALID_VALUE",
  8: "CUBLAS_STATUS_ARCH_MISMATCH",
  11: "CUBLAS_STATUS_MAPPING_ERROR",
  13: "CUBLAS_STATUS_EXECUTION_FAILED",
  14: "CUBLAS_STATUS_INTERNAL_ERROR",
  15: "CUBLAS_STATUS_NOT_SUPPORTED",
  16: "CUBLAS_STATUS_LICENSE_ERROR",
};

/** What a plan multiplies. */
export interface GemmShape {
  /** N: output columns (weight rows). */
  n: number;
  /** K: the reduced dimension. */
  k: number;
  /** Type of X and W. */
  input: GemmType;
  /** Type of Y. */
  output: GemmType;
  /** M the algorithm is chosen for (the largest M it will run; any smaller M reuses it). */
  mRef: number;
}

/** The pinned algorithm's configuration, as cuBLASLt reports it. */
export interface GemmAlgoInfo {
  /** CUBLASLT_ALGO_CONFIG_ID. */
  id: number;
  /** CUBLASLT_ALGO_CONFIG_TILE_ID. */
  tile: number;
  /** CUBLASLT_ALGO_CONFIG_SPLITK_NUM (1: no split-K). */
  splitK: number;
  /** CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME (0: none). */
  reduction: number;
  /** CUBLASLT_ALGO_CONFIG_STAGES_ID. */
  stages: number;
  /** Workspace bytes it needs. */
  workspaceBytes: number;
}

/** A GEMM with its algorithm pinned (see the module notes). */
export interface GemmPlan {
  /** The shape it was made for. */
  readonly shape: Readonly<GemmShape>;
  /** The pinned algorithm. */
  readonly info: GemmAlgoInfo;
}

interface PlanState {
  shape: Readonly<GemmShape>;
  info: GemmAlgoInfo;
  desc: Deno.PointerObject;
  w: Deno.PointerObject;
  algo: Uint8Array<ArrayBuffer>;
  layouts: Map<number, { x: Deno.PointerObject; y: Deno.PointerObject }>;
}

/**
 * cuBLASLt on one context's stream.
 *
 * @example A bf16 GEMM where a CUDA device exists
 * ```ts
 * import { CudaContext, hasCudaDevice } from "./context.ts";
 * import { CublasLtGemm } from "./gemm.ts";
 * if (hasCudaDevice()) {
 *   const ctx = CudaContext.create();
 *   const gemm = CublasLtGemm.create(ctx);
 *   const plan = gemm.plan({ n: 8, k: 8, input: "f32", output: "f32", mRef: 8 });
 *   const x = ctx.alloc(256, "x"), w = ctx.alloc(256, "w"), y = ctx.alloc(256, "y");
 *   ctx.upload(x, new Float32Array(64).fill(1));
 *   ctx.upload(w, new Float32Array(64).fill(2));
 *   gemm.run(plan, 8, x, w, y);
 *   const out = new Float32Array(64);
 *   ctx.download(out, y);
 *   gemm.destroy();
 *   ctx.destroy();
 *   if (out[0] !== 16) throw new Error();
 * }
 * ```
 */
export class CublasLtGemm {
  readonly #ctx: CudaContext;
  readonly #lt: CublasLtLib;
  readonly #handle: Deno.PointerObject;
  readonly #workspace: DeviceBuffer;
  readonly #plans = new Map<string, PlanState>();
  /** cublasLtGetVersion(), e.g. 130100. */
  readonly version: number;
  /** Where libcublasLt was opened from. */
  readonly libraryPath: string;
  #destroyed = false;

  private constructor(
    ctx: CudaContext,
    lt: CublasLtLib,
    path: string,
    handle: Deno.PointerObject,
    ws: DeviceBuffer,
  ) {
    this.#ctx = ctx;
    this.#lt = lt;
    this.libraryPath = path;
    this.#handle = handle;
    this.#workspace = ws;
    this.version = Number(lt.cublasLtGetVersion());
  }

  /**
   * Opens cuBLASLt and makes a handle and a workspace on the context.
   *
   * @param ctx The context (its stream runs the GEMMs).
   * @param options Workspace bytes (default 32 MiB), library folder.
   * @returns The wrapper.
   * @throws {CudaError} "no_library" without cuBLASLt; "cublas" when the handle cannot be made.
   */
  static create(
    ctx: CudaContext,
    options: { workspaceBytes?: number; libDir?: string } = {},
  ): CublasLtGemm {
    const { symbols: lt, path } = openCublasLt(options.libDir);
    const box = new BigUint64Array(1);
    checkLt(lt, lt.cublasLtCreate(box), "cublasLtCreate");
    const ws = ctx.alloc(options.workspaceBytes ?? 32 << 20, "cublasLt-workspace");
    return new CublasLtGemm(ctx, lt, path, Deno.UnsafePointer.create(box[0])!, ws);
  }

  #layout(type: GemmType, rows: number, cols: number, ld: number): Deno.PointerObject {
    const box = new BigUint64Array(1);
    checkLt(
      this.#lt,
      this.#lt.cublasLtMatrixLayoutCreate(
        box,
        type === "bf16" ? CUDA_R_16BF : CUDA_R_32F,
        BigInt(rows),
        BigInt(cols),
        BigInt(ld),
      ),
      "cublasLtMatrixLayoutCreate",
    );
    return Deno.UnsafePointer.create(box[0])!;
  }

  #layoutsFor(p: PlanState, m: number): { x: Deno.PointerObject; y: Deno.PointerObject } {
    let l = p.layouts.get(m);
    if (!l) {
      l = {
        x: this.#layout(p.shape.input, p.shape.k, m, p.shape.k),
        y: this.#layout(p.shape.output, p.shape.n, m, p.shape.n),
      };
      p.layouts.set(m, l);
    }
    return l;
  }

  /**
   * The pinned plan of a shape (made once, then cached).
   *
   * @param shape N, K, types and the reference M.
   * @returns The plan.
   * @throws {CudaError} "cublas" when no split-K-free algorithm exists for the shape.
   * @throws {RangeError} For non-positive sizes.
   */
  plan(shape: GemmShape): GemmPlan {
    this.#check();
    for (const k of ["n", "k", "mRef"] as const) {
      if (!Number.isInteger(shape[k]) || shape[k] < 1) {
        throw new RangeError(`Invalid GEMM ${k}: got ${shape[k]}, expected a positive integer`);
      }
    }
    if (shape.input === "f32" && shape.output === "bf16") {
      throw new RangeError("Invalid GEMM types: f32 inputs with a bf16 output are not used");
    }
    const key = `${shape.n}x${shape.k}:${shape.input}>${shape.output}@${shape.mRef}`;
    const hit = this.#plans.get(key);
    if (hit) return hit;
    const lt = this.#lt;
    const descBox = new BigUint64Array(1);
    checkLt(
      lt,
      lt.cublasLtMatmulDescCreate(descBox, CUBLAS_COMPUTE_32F, CUDA_R_32F),
      "cublasLtMatmulDescCreate",
    );
    const desc = Deno.UnsafePointer.create(descBox[0])!;
    checkLt(
      lt,
      lt.cublasLtMatmulDescSetAttribute(desc, DESC_TRANSA, new Int32Array([OP_T]), 4n),
      "cublasLtMatmulDescSetAttribute(TRANSA)",
    );
    const state: PlanState = {
      shape: { ...shape },
      info: { id: 0, tile: 0, splitK: 0, reduction: 0, stages: 0, workspaceBytes: 0 },
      desc,
      w: this.#layout(shape.input, shape.k, shape.n, shape.k),
      algo: new Uint8Array(ALGO_BYTES),
      layouts: new Map(),
    };
    const { x, y } = this.#layoutsFor(state, shape.mRef);
    const prefBox = new BigUint64Array(1);
    checkLt(lt, lt.cublasLtMatmulPreferenceCreate(prefBox), "cublasLtMatmulPreferenceCreate");
    const pref = Deno.UnsafePointer.create(prefBox[0])!;
    try {
      checkLt(
        lt,
        lt.cublasLtMatmulPreferenceSetAttribute(
          pref,
          PREF_MAX_WORKSPACE_BYTES,
          new BigUint64Array([BigInt(this.#workspace.sizeBytes)]),
          8n,
        ),
        "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)",
      );
      checkLt(
        lt,
        lt.cublasLtMatmulPreferenceSetAttribute(
          pref,
          PREF_REDUCTION_SCHEME_MASK,
          new Uint32Array([0]),
          4n,
        ),
        "cublasLtMatmulPreferenceSetAttribute(REDUCTION_SCHEME_MASK)",
      );
      const results = new Uint8Array(HEURISTIC_BYTES * HEURISTIC_COUNT);
      const count = new Int32Array(1);
      checkLt(
        lt,
        lt.cublasLtMatmulAlgoGetHeuristic(
          this.#handle,
          desc,
          state.w,
          x,
          y,
          y,
          pref,
          HEURISTIC_COUNT,
          results,
          count,
        ),
        "cublasLtMatmulAlgoGetHeuristic",
        ` for ${key}`,
      );
      const view = new DataView(results.buffer);
      let chosen = -1;
      for (let i = 0; i < count[0]; i++) {
        if (view.getInt32(i * HEURISTIC_BYTES + 72, true) === 0) {
          chosen = i;
          break;
        }
      }
      if (chosen < 0) {
        throw new CudaError(
          "cublas",
          `cuBLASLt offers no split-K-free algorithm for GEMM ${key} (${
            count[0]
          } candidates); this shape cannot run batch-invariantly here`,
          { library: "libcublasLt", fn: "cublasLtMatmulAlgoGetHeuristic" },
        );
      }
      state.algo.set(results.subarray(chosen * HEURISTIC_BYTES, chosen * HEURISTIC_BYTES + 64));
      const attr = (a: number) => {
        const v = new Uint32Array(1), written = new BigUint64Array(1);
        lt.cublasLtMatmulAlgoConfigGetAttribute(state.algo, a, v, 4n, written);
        return v[0];
      };
      state.info = {
        id: attr(0),
        tile: attr(1),
        splitK: attr(2),
        reduction: attr(3),
        stages: attr(6),
        workspaceBytes: Number(view.getBigUint64(chosen * HEURISTIC_BYTES + 64, true)),
      };
    } finally {
      lt.cublasLtMatmulPreferenceDestroy(pref);
    }
    this.#plans.set(key, state);
    return state;
  }

  /**
   * Queues Y[M, N] = X[M, K] · W[N, K]ᵀ on the stream with the plan's algorithm.
   *
   * @param plan From {@link CublasLtGemm.plan}.
   * @param m Rows of X and Y (1 ≤ m; any m works, the algorithm stays the plan's).
   * @param x X (device address or buffer).
   * @param w W.
   * @param y Y (overwritten).
   * @throws {CudaError} "cublas" with the status name when cuBLASLt refuses the call.
   */
  run(
    plan: GemmPlan,
    m: number,
    x: DeviceBuffer | bigint,
    w: DeviceBuffer | bigint,
    y: DeviceBuffer | bigint,
  ): void {
    this.#check();
    const p = plan as unknown as PlanState;
    if (!Number.isInteger(m) || m < 1) {
      throw new RangeError(`Invalid GEMM m: got ${m}, expected a positive integer`);
    }
    const l = this.#layoutsFor(p, m);
    const addr = (b: DeviceBuffer | bigint) => typeof b === "bigint" ? b : b.ptr;
    checkLt(
      this.#lt,
      this.#lt.cublasLtMatmul(
        this.#handle,
        p.desc,
        ONE,
        addr(w),
        p.w,
        addr(x),
        l.x,
        ZERO,
        addr(y),
        l.y,
        addr(y),
        l.y,
        p.algo,
        this.#workspace.ptr,
        BigInt(this.#workspace.sizeBytes),
        this.#ctx.stream,
      ),
      "cublasLtMatmul",
      ` (M=${m}, N=${p.shape.n}, K=${p.shape.k}, ${p.shape.input}->${p.shape.output})`,
    );
  }

  #check(): void {
    if (this.#destroyed) {
      throw new CudaError("disposed", "Cannot use the cuBLASLt wrapper: it was destroyed");
    }
  }

  /** Frees the plans, the handle and the workspace. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const lt = this.#lt;
    for (const p of this.#plans.values()) {
      for (const l of p.layouts.values()) {
        lt.cublasLtMatrixLayoutDestroy(l.x);
        lt.cublasLtMatrixLayoutDestroy(l.y);
      }
      lt.cublasLtMatrixLayoutDestroy(p.w);
      lt.cublasLtMatmulDescDestroy(p.desc);
    }
    this.#plans.clear();
    lt.cublasLtDestroy(this.#handle);
    this.#ctx.free(this.#workspace);
  }
}

const ONE = new Float32Array([1]);
const ZERO = new Float32Array([0]);

function checkLt(lt: CublasLtLib, status: number, fn: string, extra = ""): void {
  if (status === 0) return;
  const fromLib = lt.cublasLtGetStatusString ? cString(lt.cublasLtGetStatusString(status)) : "";
  const name = fromLib || STATUS_NAMES[status] || "unknown status";
  throw new CudaError("cublas", `${fn} failed: ${name} (${status})${extra}`, {
    library: "libcublasLt",
    fn,
    status,
  });
}
