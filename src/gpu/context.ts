/**
 * The WebGPU device and the few resource helpers every kernel family shares: buffers with the
 * narrowest usage, uniform parameter blocks, compiled pipelines, and dispatches bound once.
 *
 * @module
 */

import { GpuError } from "./gpu_error.ts";

/** The adapter limits the backend sizes itself by (requested at their real maxima). */
export interface GpuLimits {
  /** Largest storage-buffer binding in bytes (llvmpipe: 128 MiB). */
  maxStorageBufferBindingSize: number;
  /** Largest buffer in bytes. */
  maxBufferSize: number;
  /** Workgroup shared memory in bytes. */
  maxComputeWorkgroupStorageSize: number;
  /** Threads per workgroup. */
  maxComputeInvocationsPerWorkgroup: number;
  /** Workgroups per dispatch dimension. */
  maxComputeWorkgroupsPerDimension: number;
  /** Storage buffers one shader stage may bind. */
  maxStorageBuffersPerShaderStage: number;
}

/** Options of {@link GpuContext.create}. */
export interface GpuContextOptions {
  /** Passed to `requestAdapter`; default "high-performance". */
  powerPreference?: GPUPowerPreference;
  /** Ask for `shader-f16` when the adapter has it (default true). */
  allowF16?: boolean;
  /** Ask for `subgroups` and keep it where the device grants it (default true). */
  allowSubgroups?: boolean;
}

/** How a kernel binds each slot: a uniform block, a read-only or a read-write storage buffer. */
export type BindingKind = "uniform" | "read" | "read_write";

/** One compute dispatch with its pipeline and bind group made once; the grid depends on rows. */
export interface Dispatch {
  /** The compiled pipeline (owned by its kernel family, shared by many dispatches). */
  readonly pipeline: GPUComputePipeline;
  /** Bind group made at bind time and reused for every encode. */
  readonly bindGroup: GPUBindGroup;
  /** Workgroup counts for a pass over `rows` rows. */
  grid(rows: number): [number, number, number];
}

/**
 * Encodes a {@link Dispatch} into a compute pass.
 *
 * @param pass The open compute pass.
 * @param op The dispatch.
 * @param rows Rows of this pass (the same value written into the run uniform).
 * @example Dispatching a bound op
 * ```ts
 * import { encodeDispatch, GpuContext } from "./context.ts";
 * import { MlpKernel } from "./mlp.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   const mlp = await MlpKernel.create(ctx);
 *   const [gu, h] = [ctx.storage(8, "gu"), ctx.storage(4, "h")];
 *   const op = mlp.bind(ctx.uniform(new Uint32Array([1, 0, 0, 0]), "run"), gu, h, 1);
 *   const enc = ctx.device.createCommandEncoder();
 *   const pass = enc.beginComputePass();
 *   encodeDispatch(pass, op, 1); // one row
 *   pass.end();
 *   ctx.device.queue.submit([enc.finish()]);
 *   await ctx.device.queue.onSubmittedWorkDone();
 *   ctx.destroy();
 * }
 * ```
 */
export function encodeDispatch(pass: GPUComputePassEncoder, op: Dispatch, rows: number): void {
  const [x, y, z] = op.grid(rows);
  if (x === 0 || y === 0 || z === 0) return;
  pass.setPipeline(op.pipeline);
  pass.setBindGroup(0, op.bindGroup);
  pass.dispatchWorkgroups(x, y, z);
}

const LIMIT_NAMES: (keyof GpuLimits)[] = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
];

/**
 * A WebGPU device with the adapter's real limits, plus allocation bookkeeping (bytes held now and
 * at peak) and a pool of readback buffers. Owns every buffer it creates: `destroy()` frees them.
 *
 * @example Opening the default adapter (skipped where there is none)
 * ```ts
 * import { GpuContext } from "./context.ts";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const ctx = await GpuContext.create();
 *   if (ctx.limits.maxStorageBufferBindingSize < 1 << 20) throw new Error("tiny limits");
 *   ctx.destroy();
 * }
 * ```
 */
export class GpuContext {
  /** The device. */
  readonly device: GPUDevice;
  /** Adapter description, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits)". */
  readonly description: string;
  /** Limits granted (the adapter's maxima). */
  readonly limits: GpuLimits;
  /** Whether `shader-f16` was granted. */
  readonly hasF16: boolean;
  /** Whether `timestamp-query` was granted. */
  readonly hasTimestamps: boolean;
  /** Whether `subgroups` was granted (WGSL `enable subgroups;`). */
  readonly hasSubgroups: boolean;
  /** The adapter's smallest and largest subgroup sizes (0 where it does not say). */
  readonly subgroupSizes: { min: number; max: number };
  #bytes = 0;
  #peakBytes = 0;
  #owned = new Set<GPUBuffer>();
  #readback: GPUBuffer[] = [];
  #staging = new Set<GPUBuffer>();
  #laneLayouts = new Map<string, boolean>();
  #lost: string | null = null;
  #error: string | null = null;

  private constructor(
    device: GPUDevice,
    description: string,
    limits: GpuLimits,
    subgroupSizes: { min: number; max: number },
  ) {
    this.device = device;
    this.description = description;
    this.limits = limits;
    this.hasF16 = device.features.has("shader-f16");
    this.hasTimestamps = device.features.has("timestamp-query");
    this.hasSubgroups = device.features.has("subgroups");
    this.subgroupSizes = subgroupSizes;
    device.lost.then((info) => {
      this.#lost = `${info.reason}: ${info.message}`;
    });
    device.addEventListener("uncapturederror", (e) => {
      this.#error ??= (e as GPUUncapturedErrorEvent).error.message;
    });
  }

  /**
   * Requests an adapter and a device with the adapter's maximum limits (the defaults are far
   * smaller: 128 MiB bindings, 16 KiB of workgroup memory).
   *
   * @param options Adapter preference and feature choices.
   * @returns The context.
   * @throws {GpuError} code "no_adapter" when there is no WebGPU adapter.
   */
  static async create(options: GpuContextOptions = {}): Promise<GpuContext> {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    if (!gpu) {
      throw new GpuError("no_adapter", "No WebGPU: navigator.gpu is undefined in this runtime");
    }
    const adapter = await gpu.requestAdapter({
      powerPreference: options.powerPreference ?? "high-performance",
    });
    if (!adapter) {
      throw new GpuError(
        "no_adapter",
        "No WebGPU adapter: navigator.gpu.requestAdapter() returned null; install a Vulkan driver (or Mesa llvmpipe)",
      );
    }
    const requiredLimits: Record<string, number> = {};
    const limits = {} as GpuLimits;
    for (const name of LIMIT_NAMES) {
      const v = adapter.limits[name] as number;
      requiredLimits[name] = v;
      limits[name] = v;
    }
    // A binding can never exceed the buffer size.
    limits.maxStorageBufferBindingSize = Math.min(
      limits.maxStorageBufferBindingSize,
      limits.maxBufferSize,
    );
    const features: GPUFeatureName[] = [];
    if (options.allowF16 !== false && adapter.features.has("shader-f16")) {
      features.push("shader-f16");
    }
    if (adapter.features.has("timestamp-query")) features.push("timestamp-query");
    // Deno 2.9.6 leaves `subgroups` out of adapter.features even where the device grants it
    // (NVIDIA through Vulkan), so it is asked for and the request repeated without it when
    // refused (llvmpipe: "requiredFeatures must be a subset of the adapter features"); kernels
    // read hasSubgroups. Tensor cores stay out of reach: "wgpu-cooperative-matrix" is refused
    // there ("experimental features are not enabled"), so WGSL matmuls run on the FMA units.
    let device: GPUDevice | null = null;
    if (options.allowSubgroups !== false) {
      device = await adapter.requestDevice({
        requiredFeatures: [...features, "subgroups" as GPUFeatureName],
        requiredLimits,
      }).catch(() => null);
    }
    device ??= await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
    const info = adapter.info as GPUAdapterInfo & {
      subgroupMinSize?: number;
      subgroupMaxSize?: number;
    };
    const description = info.description || `${info.vendor} ${info.device}`.trim();
    const sizes = { min: info.subgroupMinSize ?? 0, max: info.subgroupMaxSize ?? 0 };
    return new GpuContext(device, description, limits, sizes);
  }

  /** Bytes of buffers held now. */
  get allocatedBytes(): number {
    return this.#bytes;
  }

  /** Most bytes held at once since creation (or the last {@link resetPeak}). */
  get peakBytes(): number {
    return this.#peakBytes;
  }

  /** Restarts peak tracking from the bytes held now. */
  resetPeak(): void {
    this.#peakBytes = this.#bytes;
  }

  /** Throws if the device was lost or rejected a command (a bug: nothing ran). */
  checkAlive(): void {
    if (this.#lost !== null) {
      throw new GpuError(
        "device_lost",
        `The WebGPU device was lost (${this.#lost}); reload the model`,
      );
    }
    if (this.#error !== null) {
      throw new GpuError("validation", `The WebGPU device rejected a command: ${this.#error}`);
    }
  }

  /**
   * A buffer owned by this context.
   *
   * @param sizeBytes Size; rounded up to a multiple of 16.
   * @param usage Usage flags.
   * @param label Debug label.
   * @returns The buffer.
   * @throws {GpuError} code "limits" when larger than maxBufferSize.
   */
  buffer(sizeBytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const size = Math.max(16, Math.ceil(sizeBytes / 16) * 16);
    if (size > this.limits.maxBufferSize) {
      throw new GpuError(
        "limits",
        `Cannot allocate ${label}: ${size} bytes exceeds the adapter's maxBufferSize ${this.limits.maxBufferSize}; use fewer rows per pass or a smaller batch`,
      );
    }
    const buf = this.device.createBuffer({ size, usage, label });
    this.#owned.add(buf);
    this.#bytes += size;
    this.#peakBytes = Math.max(this.#peakBytes, this.#bytes);
    return buf;
  }

  /**
   * A storage buffer that kernels read and write, copyable both ways.
   *
   * @param sizeBytes Size in bytes.
   * @param label Debug label.
   * @returns The buffer.
   */
  storage(sizeBytes: number, label: string): GPUBuffer {
    return this.buffer(
      sizeBytes,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
      label,
    );
  }

  /**
   * A uniform buffer holding `data`, written once.
   *
   * @param data 32-bit words (u32; write f32 fields through a shared ArrayBuffer view).
   * @param label Debug label.
   * @returns The buffer.
   */
  uniform(data: Uint32Array, label: string): GPUBuffer {
    const buf = this.buffer(
      data.byteLength,
      GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label,
    );
    this.write(buf, 0, data);
    return buf;
  }

  /**
   * Queues a write of a typed array's bytes into a buffer (ordered before the next submit).
   *
   * @param buf Destination.
   * @param offsetBytes Byte offset in the destination (multiple of 4).
   * @param view The data.
   */
  write(buf: GPUBuffer, offsetBytes: number, view: ArrayBufferView): void {
    this.device.queue.writeBuffer(
      buf,
      offsetBytes,
      view.buffer as ArrayBuffer,
      view.byteOffset,
      view.byteLength,
    );
  }

  /**
   * Frees a buffer made by this context.
   *
   * @param buf The buffer.
   */
  release(buf: GPUBuffer): void {
    if (!this.#owned.delete(buf)) return;
    this.#staging.delete(buf);
    this.#bytes -= buf.size;
    buf.destroy();
  }

  /**
   * Compiles a compute pipeline, surfacing WGSL errors with the line.
   *
   * @param code WGSL source.
   * @param entryPoint Entry point name.
   * @param constants Pipeline-overridable constants.
   * @param label Debug label.
   * @param bindings Kind of each binding of group 0, in index order (an explicit layout, so a
   *   binding the entry point happens not to use still belongs to it).
   * @returns The pipeline.
   * @throws {GpuError} code "shader" when the WGSL does not compile.
   */
  async pipeline(
    code: string,
    entryPoint: string,
    constants: Record<string, number>,
    label: string,
    bindings: readonly BindingKind[],
  ): Promise<GPUComputePipeline> {
    const bindGroupLayout = this.device.createBindGroupLayout({
      label,
      entries: bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: {
          type: kind === "uniform" ? "uniform" : kind === "read" ? "read-only-storage" : "storage",
        },
      })),
    });
    const layout = this.device.createPipelineLayout({ label, bindGroupLayouts: [bindGroupLayout] });
    const module = this.device.createShaderModule({ code, label });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) {
      const text = errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join("; ");
      throw new GpuError("shader", `Cannot compile ${label}: ${text}`);
    }
    try {
      return await this.device.createComputePipelineAsync({
        label,
        layout,
        compute: { module, entryPoint, constants },
      });
    } catch (cause) {
      throw new GpuError("shader", `Cannot create pipeline ${label}: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  /**
   * A bind group over whole buffers, in binding order 0, 1, 2, ...
   *
   * @param pipeline The pipeline whose group 0 layout to use.
   * @param buffers Buffers in WGSL binding order.
   * @param label Debug label.
   * @returns The bind group.
   */
  bindGroup(
    pipeline: GPUComputePipeline,
    buffers: readonly GPUBuffer[],
    label: string,
  ): GPUBindGroup {
    return this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /**
   * Whether subgroup lanes follow thread order in a one-dimensional workgroup of `threads`:
   * lane = local_invocation_index mod subgroup size for every thread, with a subgroup size that
   * is a multiple of `groupSize`, so that each `groupSize` consecutive threads share one subgroup
   * at consecutive lanes. Kernels that shuffle between such threads check this first: WebGPU does
   * not promise the layout, and subgroup sizes vary across vendors (4 to 128). Measured by one
   * small dispatch, once per (threads, groupSize).
   *
   * @param threads Workgroup size of the kernel.
   * @param groupSize Threads that must share a subgroup (a power of two).
   * @returns False where `subgroups` was not granted or the layout differs.
   * @example
   * ```ts
   * import { GpuContext } from "./context.ts";
   * if (await navigator.gpu?.requestAdapter()) {
   *   const ctx = await GpuContext.create();
   *   const linear = await ctx.subgroupLanesLinear(128, 4);
   *   ctx.destroy();
   *   if (!ctx.hasSubgroups && linear) throw new Error("no subgroups, yet linear");
   * }
   * ```
   */
  async subgroupLanesLinear(threads: number, groupSize: number): Promise<boolean> {
    if (!this.hasSubgroups) return false;
    const key = `${threads}/${groupSize}`;
    const known = this.#laneLayouts.get(key);
    if (known !== undefined) return known;
    const code = `@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${threads})
fn probe(@builtin(local_invocation_index) t: u32, @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) size: u32) {
  out[2u * t] = lane;
  out[2u * t + 1u] = size;
}`;
    const pipeline = await this.pipeline(code, "probe", {}, "subgroup-probe", ["read_write"]);
    const buf = this.storage(threads * 8, "subgroup-probe");
    try {
      const enc = this.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bindGroup(pipeline, [buf], "subgroup-probe"));
      pass.dispatchWorkgroups(1);
      pass.end();
      this.device.queue.submit([enc.finish()]);
      const got = new Uint32Array(await this.read(buf, 0, threads * 8));
      let linear = true;
      for (let t = 0; t < threads; t++) {
        const [lane, size] = [got[2 * t], got[2 * t + 1]];
        if (size === 0 || size % groupSize !== 0 || lane !== t % size) linear = false;
      }
      this.#laneLayouts.set(key, linear);
      return linear;
    } finally {
      this.release(buf);
    }
  }

  /**
   * Copies `sizeBytes` from `src` at `offset` back to the host (through a pooled staging buffer).
   *
   * @param src Buffer with COPY_SRC usage.
   * @param offset Byte offset (multiple of 4).
   * @param sizeBytes Bytes (multiple of 4).
   * @returns A fresh copy of the bytes.
   */
  async read(src: GPUBuffer, offset: number, sizeBytes: number): Promise<ArrayBuffer> {
    this.checkAlive();
    const staging = this.#takeReadback(sizeBytes);
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(src, offset, staging, 0, sizeBytes);
    this.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, sizeBytes);
    } catch (cause) {
      this.release(staging);
      this.checkAlive();
      throw new GpuError("device_lost", `Cannot read back ${sizeBytes} bytes: ${cause}`, { cause });
    }
    const copy = staging.getMappedRange(0, sizeBytes).slice(0);
    staging.unmap();
    this.#readback.push(staging);
    return copy;
  }

  #takeReadback(sizeBytes: number): GPUBuffer {
    const i = this.#readback.findIndex((b) => b.size >= sizeBytes);
    if (i >= 0) return this.#readback.splice(i, 1)[0];
    const b = this.buffer(sizeBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, "readback");
    this.#staging.add(b);
    return b;
  }

  /** Bytes held by the pool of readback (staging) buffers, part of {@link allocatedBytes}. */
  get stagingBytes(): number {
    let n = 0;
    for (const b of this.#staging) if (this.#owned.has(b)) n += b.size;
    return n;
  }

  /**
   * The buffers held now, to compare with later through {@link createdSince}.
   *
   * @returns A snapshot.
   */
  snapshot(): ReadonlySet<GPUBuffer> {
    return new Set(this.#owned);
  }

  /**
   * Buffers created after `snapshot` and still held, staging buffers excepted: what a borrower
   * of this context allocated in between, so that it can release exactly those.
   *
   * @param snapshot From {@link snapshot}.
   * @returns The buffers.
   * @example
   * ```ts
   * import { GpuContext } from "./context.ts";
   * if (await navigator.gpu?.requestAdapter()) {
   *   const ctx = await GpuContext.create();
   *   const before = ctx.snapshot();
   *   const b = ctx.storage(64, "mine");
   *   const mine = ctx.createdSince(before);
   *   ctx.destroy();
   *   if (mine.length !== 1 || mine[0] !== b) throw new Error();
   * }
   * ```
   */
  createdSince(snapshot: ReadonlySet<GPUBuffer>): GPUBuffer[] {
    return [...this.#owned].filter((b) => !snapshot.has(b) && !this.#staging.has(b));
  }

  /** Frees every buffer and the device. */
  destroy(): void {
    for (const b of this.#owned) b.destroy();
    this.#owned.clear();
    this.#readback = [];
    this.#staging.clear();
    this.#bytes = 0;
    this.device.destroy();
  }
}
