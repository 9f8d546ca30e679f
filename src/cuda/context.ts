/**
 * A CUDA device context for one model: the device's primary context made current, one stream,
 * device memory with tracked current and peak bytes, copies, kernel modules and launches, events.
 *
 * Every call runs on the calling (main) thread, where the primary context is current; work is
 * queued on the context's stream and `sync()` waits for it.
 *
 * @module
 */

import { CudaError } from "./cuda_error.ts";
import { cBytes, cString } from "./_ffi.ts";
import { type CudaLib, openCuda } from "./libraries.ts";
import { compilePtx, nvrtcSupportedArchs, pickArch } from "./nvrtc.ts";

const ATTR_CC_MAJOR = 75;
const ATTR_CC_MINOR = 76;
const ATTR_SM_COUNT = 16;

/** A device allocation: its address and size (owned by the context that made it). */
export interface DeviceBuffer {
  /** Device address. */
  readonly ptr: bigint;
  /** Size in bytes. */
  readonly sizeBytes: number;
  /** What it holds (error messages). */
  readonly label: string;
}

/** A kernel argument: device address (`ptr`), 32-bit int, 32-bit float or 64-bit int. */
export type KernelArg =
  | { ptr: bigint | DeviceBuffer | null }
  | { i32: number }
  | { f32: number }
  | { i64: number };

/** A captured sequence of stream work that can be replayed with one launch (a CUDA graph). */
export interface CudaGraph {
  /** The instantiated graph. */
  readonly exec: Deno.PointerObject;
  /** The graph it was instantiated from. */
  readonly graph: Deno.PointerObject;
}

/** A compiled module's function handles by entry name. */
export interface CudaModule {
  /** The entry points. */
  readonly functions: ReadonlyMap<string, Deno.PointerObject>;
}

/** Options of {@link CudaContext.create}. */
export interface CudaContextOptions {
  /** Device ordinal; default 0. */
  device?: number;
  /** A folder tried first when opening the libraries (default: `GRAIL_CUDA_LIB_DIR`). */
  libDir?: string;
}

/**
 * The device, its stream and the memory this context allocated.
 *
 * @example Allocating and copying where a CUDA device exists
 * ```ts
 * import { CudaContext, hasCudaDevice } from "./context.ts";
 * if (hasCudaDevice()) {
 *   const ctx = CudaContext.create();
 *   const buf = ctx.alloc(16, "demo");
 *   ctx.upload(buf, new Float32Array([1, 2, 3, 4]));
 *   const back = new Float32Array(4);
 *   ctx.download(back, buf);
 *   ctx.destroy();
 *   if (back[3] !== 4) throw new Error();
 * }
 * ```
 */
export class CudaContext {
  /** The driver's functions. */
  readonly cu: CudaLib;
  /** Device ordinal. */
  readonly device: number;
  /** Device name, e.g. "NVIDIA H100 80GB HBM3". */
  readonly name: string;
  /** Compute capability [major, minor]. */
  readonly computeCapability: readonly [number, number];
  /** Streaming multiprocessors. */
  readonly smCount: number;
  /** Driver version as cuDriverGetVersion reports it (13000 = 13.0). */
  readonly driverVersion: number;
  /** The stream all work of this context is queued on. */
  readonly stream: Deno.PointerObject;
  /** A second stream for device-to-host copies that overlap the main stream's later work. */
  readonly copyStream: Deno.PointerObject;
  readonly #copyReady: Deno.PointerObject;
  readonly #libDir: string | undefined;
  /** Where libcuda was opened from. */
  readonly libraryPath: string;
  #live = new Map<bigint, DeviceBuffer>();
  #bytes = 0;
  #peak = 0;
  #modules: Deno.PointerObject[] = [];
  #hostBuffers: Deno.PointerObject[] = [];
  #destroyed = false;

  private constructor(
    cu: CudaLib,
    path: string,
    device: number,
    info: { name: string; cc: [number, number]; sms: number; driver: number },
    stream: Deno.PointerObject,
    copyStream: Deno.PointerObject,
    copyReady: Deno.PointerObject,
    libDir: string | undefined,
  ) {
    this.cu = cu;
    this.#libDir = libDir;
    this.copyStream = copyStream;
    this.#copyReady = copyReady;
    this.libraryPath = path;
    this.device = device;
    this.name = info.name;
    this.computeCapability = info.cc;
    this.smCount = info.sms;
    this.driverVersion = info.driver;
    this.stream = stream;
  }

  /**
   * Opens the driver, retains the device's primary context, makes it current and creates a stream.
   *
   * @param options Device ordinal, library folder.
   * @returns The context; call `destroy()` when done.
   * @throws {CudaError} "no_library" without libcuda; "no_device" without a device; "driver" for a
   *   failing driver call.
   */
  static create(options: CudaContextOptions = {}): CudaContext {
    const { symbols: cu, path } = openCuda(options.libDir);
    const device = options.device ?? 0;
    check(cu, cu.cuInit(0), "cuInit");
    const count = new Int32Array(1);
    check(cu, cu.cuDeviceGetCount(count), "cuDeviceGetCount");
    if (device < 0 || device >= count[0]) {
      throw new CudaError(
        "no_device",
        `No CUDA device ${device}: the driver reports ${
          count[0]
        } device(s); pick an ordinal in [0, ${count[0]})`,
      );
    }
    const dev = new Int32Array(1);
    check(cu, cu.cuDeviceGet(dev, device), "cuDeviceGet");
    const nameBuf = new Uint8Array(256);
    check(cu, cu.cuDeviceGetName(nameBuf, 256, dev[0]), "cuDeviceGetName");
    const attr = (a: number, what: string) => {
      const v = new Int32Array(1);
      check(cu, cu.cuDeviceGetAttribute(v, a, dev[0]), `cuDeviceGetAttribute(${what})`);
      return v[0];
    };
    const driver = new Int32Array(1);
    check(cu, cu.cuDriverGetVersion(driver), "cuDriverGetVersion");
    const ctxBox = new BigUint64Array(1);
    check(cu, cu.cuDevicePrimaryCtxRetain(ctxBox, dev[0]), "cuDevicePrimaryCtxRetain");
    check(cu, cu.cuCtxSetCurrent(Deno.UnsafePointer.create(ctxBox[0])), "cuCtxSetCurrent");
    const streamBox = new BigUint64Array(2);
    check(cu, cu.cuStreamCreate(streamBox, 0), "cuStreamCreate");
    check(cu, cu.cuStreamCreate(streamBox.subarray(1), 0), "cuStreamCreate");
    const eventBox = new BigUint64Array(1);
    // CU_EVENT_DISABLE_TIMING (2): a pure ordering event is cheaper to record and wait on.
    check(cu, cu.cuEventCreate(eventBox, 2), "cuEventCreate");
    const end = nameBuf.indexOf(0);
    return new CudaContext(
      cu,
      path,
      dev[0],
      {
        name: new TextDecoder().decode(nameBuf.subarray(0, end < 0 ? 256 : end)),
        cc: [attr(ATTR_CC_MAJOR, "compute capability major"), attr(ATTR_CC_MINOR, "minor")],
        sms: attr(ATTR_SM_COUNT, "multiprocessor count"),
        driver: driver[0],
      },
      Deno.UnsafePointer.create(streamBox[0])!,
      Deno.UnsafePointer.create(streamBox[1])!,
      Deno.UnsafePointer.create(eventBox[0])!,
      options.libDir,
    );
  }

  /** "compute_XY" of this device, for NVRTC. */
  get arch(): string {
    return `compute_${this.computeCapability[0]}${this.computeCapability[1]}`;
  }

  /** Bytes allocated now. */
  get allocatedBytes(): number {
    return this.#bytes;
  }

  /** Most bytes allocated at once since creation. */
  get peakBytes(): number {
    return this.#peak;
  }

  #check(): void {
    if (this.#destroyed) {
      throw new CudaError("disposed", "Cannot use the CUDA context: it was destroyed");
    }
  }

  /**
   * Allocates device memory (contents undefined).
   *
   * @param sizeBytes Bytes (> 0).
   * @param label What it holds, for messages.
   * @returns The buffer.
   * @throws {CudaError} "driver" (e.g. CUDA_ERROR_OUT_OF_MEMORY, with the bytes asked and held).
   */
  alloc(sizeBytes: number, label: string): DeviceBuffer {
    this.#check();
    if (!Number.isInteger(sizeBytes) || sizeBytes < 1) {
      throw new RangeError(`Invalid size of ${label}: got ${sizeBytes} bytes, expected >= 1`);
    }
    const box = new BigUint64Array(1);
    check(
      this.cu,
      this.cu.cuMemAlloc_v2(box, BigInt(sizeBytes)),
      "cuMemAlloc_v2",
      ` allocating ${sizeBytes} bytes for ${label} (this context holds ${this.#bytes}); use smaller batches or passes`,
    );
    const buf = { ptr: box[0], sizeBytes, label };
    this.#live.set(buf.ptr, buf);
    this.#bytes += sizeBytes;
    this.#peak = Math.max(this.#peak, this.#bytes);
    return buf;
  }

  /**
   * Allocates page-locked host memory (DMA at full speed, unlike pageable arrays), freed with
   * the context. The returned array aliases it: do not use it after `destroy()`.
   *
   * @param sizeBytes Bytes (> 0).
   * @returns A byte view of the memory.
   * @throws {CudaError} "driver" when the driver cannot pin that much.
   */
  allocHost(sizeBytes: number): Uint8Array<ArrayBuffer> {
    this.#check();
    if (!Number.isInteger(sizeBytes) || sizeBytes < 1) {
      throw new RangeError(`Invalid pinned size: got ${sizeBytes} bytes, expected >= 1`);
    }
    const box = new BigUint64Array(1);
    check(
      this.cu,
      this.cu.cuMemAllocHost_v2(box, BigInt(sizeBytes)),
      "cuMemAllocHost_v2",
      ` pinning ${sizeBytes} host bytes`,
    );
    const ptr = Deno.UnsafePointer.create(box[0])!;
    this.#hostBuffers.push(ptr);
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, sizeBytes));
  }

  /**
   * Frees a buffer of this context (a second free is ignored).
   *
   * @param buf The buffer.
   */
  free(buf: DeviceBuffer): void {
    if (this.#destroyed || !this.#live.has(buf.ptr)) return;
    this.#live.delete(buf.ptr);
    this.#bytes -= buf.sizeBytes;
    check(this.cu, this.cu.cuMemFree_v2(buf.ptr), "cuMemFree_v2");
  }

  /**
   * Copies host bytes to a buffer (queued on the stream; the host array may be reused on return:
   * the driver stages pageable memory before returning).
   *
   * @param dst The buffer.
   * @param src Host data.
   * @param dstOffsetBytes Byte offset in the buffer.
   */
  upload(dst: DeviceBuffer, src: ArrayBufferView, dstOffsetBytes = 0): void {
    this.#check();
    if (dstOffsetBytes + src.byteLength > dst.sizeBytes) {
      throw new RangeError(
        `Upload of ${src.byteLength} bytes at ${dstOffsetBytes} overflows ${dst.label} (${dst.sizeBytes} bytes)`,
      );
    }
    if (src.byteLength === 0) return;
    const view = new Uint8Array(src.buffer, src.byteOffset, src.byteLength) as Uint8Array<
      ArrayBuffer
    >;
    check(
      this.cu,
      this.cu.cuMemcpyHtoDAsync_v2(
        dst.ptr + BigInt(dstOffsetBytes),
        view,
        BigInt(src.byteLength),
        this.stream,
      ),
      "cuMemcpyHtoDAsync_v2",
    );
  }

  /**
   * Waits for the stream, then copies device bytes into a host array (its byteLength bytes).
   *
   * @param dst Host array to fill.
   * @param src The buffer.
   * @param srcOffsetBytes Byte offset in the buffer.
   */
  download(dst: ArrayBufferView, src: DeviceBuffer, srcOffsetBytes = 0): void {
    this.#check();
    if (srcOffsetBytes + dst.byteLength > src.sizeBytes) {
      throw new RangeError(
        `Download of ${dst.byteLength} bytes at ${srcOffsetBytes} overflows ${src.label} (${src.sizeBytes} bytes)`,
      );
    }
    if (dst.byteLength === 0) return;
    const view = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength) as Uint8Array<
      ArrayBuffer
    >;
    check(
      this.cu,
      this.cu.cuMemcpyDtoHAsync_v2(
        view,
        src.ptr + BigInt(srcOffsetBytes),
        BigInt(dst.byteLength),
        this.stream,
      ),
      "cuMemcpyDtoHAsync_v2",
    );
    this.sync();
  }

  /**
   * Queues a device-to-host copy on the copy stream, ordered after all work queued so far on the
   * main stream but overlapping whatever is queued there next. Wait with
   * {@link CudaContext.syncCopies} before reading `dst` (page-locked memory from
   * {@link CudaContext.allocHost}, else the copy is synchronous anyway).
   *
   * @param dst Host array to fill.
   * @param src The buffer.
   * @param srcOffsetBytes Byte offset in the buffer.
   */
  downloadBehind(dst: ArrayBufferView, src: DeviceBuffer, srcOffsetBytes = 0): void {
    this.#check();
    if (srcOffsetBytes + dst.byteLength > src.sizeBytes) {
      throw new RangeError(
        `Download of ${dst.byteLength} bytes at ${srcOffsetBytes} overflows ${src.label} (${src.sizeBytes} bytes)`,
      );
    }
    if (dst.byteLength === 0) return;
    check(this.cu, this.cu.cuEventRecord(this.#copyReady, this.stream), "cuEventRecord");
    check(
      this.cu,
      this.cu.cuStreamWaitEvent(this.copyStream, this.#copyReady, 0),
      "cuStreamWaitEvent",
    );
    const view = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength) as Uint8Array<
      ArrayBuffer
    >;
    check(
      this.cu,
      this.cu.cuMemcpyDtoHAsync_v2(
        view,
        src.ptr + BigInt(srcOffsetBytes),
        BigInt(dst.byteLength),
        this.copyStream,
      ),
      "cuMemcpyDtoHAsync_v2",
    );
  }

  /** Waits until every copy queued by {@link CudaContext.downloadBehind} has landed. */
  syncCopies(): void {
    this.#check();
    check(this.cu, this.cu.cuStreamSynchronize(this.copyStream), "cuStreamSynchronize");
  }

  /**
   * Queues a device-to-device copy.
   *
   * @param dst Destination buffer.
   * @param dstOffsetBytes Byte offset in it.
   * @param src Source buffer.
   * @param srcOffsetBytes Byte offset in it.
   * @param bytes Bytes to copy.
   */
  copy(
    dst: DeviceBuffer,
    dstOffsetBytes: number,
    src: DeviceBuffer,
    srcOffsetBytes: number,
    bytes: number,
  ): void {
    this.#check();
    if (dstOffsetBytes + bytes > dst.sizeBytes || srcOffsetBytes + bytes > src.sizeBytes) {
      throw new RangeError(
        `Copy of ${bytes} bytes from ${src.label}+${srcOffsetBytes} to ${dst.label}+${dstOffsetBytes} is out of bounds`,
      );
    }
    if (bytes === 0) return;
    check(
      this.cu,
      this.cu.cuMemcpyDtoDAsync_v2(
        dst.ptr + BigInt(dstOffsetBytes),
        src.ptr + BigInt(srcOffsetBytes),
        BigInt(bytes),
        this.stream,
      ),
      "cuMemcpyDtoDAsync_v2",
    );
  }

  /**
   * Queues a byte fill.
   *
   * @param dst The buffer.
   * @param value Byte value.
   */
  fill(dst: DeviceBuffer, value: number): void {
    this.#check();
    check(
      this.cu,
      this.cu.cuMemsetD8Async(dst.ptr, value, BigInt(dst.sizeBytes), this.stream),
      "cuMemsetD8Async",
    );
  }

  /** Waits until all work queued on the stream has finished. */
  sync(): void {
    this.#check();
    check(this.cu, this.cu.cuStreamSynchronize(this.stream), "cuStreamSynchronize");
  }

  /**
   * Compiles CUDA C with NVRTC for this device and loads the entry points.
   *
   * @param source Self-contained CUDA C.
   * @param entries Entry names to look up (extern "C").
   * @param defines Preprocessor macros.
   * @returns The module's functions.
   * @throws {CudaError} "compile" with the compiler log; "driver" when loading fails or an
   *   entry is missing (CUDA_ERROR_NOT_FOUND).
   */
  loadModule(
    source: string,
    entries: readonly string[],
    defines: Readonly<Record<string, string>> = {},
  ): CudaModule {
    this.#check();
    const cc = 10 * this.computeCapability[0] + this.computeCapability[1];
    const arch = pickArch(cc, nvrtcSupportedArchs(this.#libDir));
    const { ptx } = compilePtx(source, { arch, defines, libDir: this.#libDir });
    const modBox = new BigUint64Array(1);
    check(this.cu, this.cu.cuModuleLoadData(modBox, cBytes(ptx)), "cuModuleLoadData");
    const mod = Deno.UnsafePointer.create(modBox[0])!;
    this.#modules.push(mod);
    const functions = new Map<string, Deno.PointerObject>();
    for (const e of entries) {
      const fBox = new BigUint64Array(1);
      check(
        this.cu,
        this.cu.cuModuleGetFunction(fBox, mod, cBytes(e)),
        `cuModuleGetFunction(${e})`,
      );
      functions.set(e, Deno.UnsafePointer.create(fBox[0])!);
    }
    return { functions };
  }

  /**
   * Queues a kernel launch on the stream.
   *
   * @param fn The function (from {@link CudaContext.loadModule}).
   * @param grid Blocks [x, y, z].
   * @param block Threads per block [x, y, z].
   * @param args The kernel's parameters in order.
   * @param label The kernel's name, for messages.
   * @throws {CudaError} "driver" when the launch is refused (e.g. CUDA_ERROR_INVALID_VALUE for a
   *   bad grid).
   */
  launch(
    fn: Deno.PointerObject,
    grid: readonly [number, number, number],
    block: readonly [number, number, number],
    args: readonly KernelArg[],
    label: string,
  ): void {
    this.#check();
    // One 8-byte slot per argument; kernelParams points at each slot.
    const slots = new ArrayBuffer(8 * Math.max(1, args.length));
    const u64 = new BigUint64Array(slots);
    const i32 = new Int32Array(slots);
    const f32 = new Float32Array(slots);
    const i64 = new BigInt64Array(slots);
    args.forEach((a, i) => {
      if ("ptr" in a) {
        const p = a.ptr;
        u64[i] = p === null ? 0n : typeof p === "bigint" ? p : p.ptr;
      } else if ("i32" in a) i32[2 * i] = a.i32;
      else if ("f32" in a) f32[2 * i] = a.f32;
      else i64[i] = BigInt(a.i64);
    });
    const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(slots)));
    const params = new BigUint64Array(Math.max(1, args.length));
    for (let i = 0; i < args.length; i++) params[i] = base + BigInt(8 * i);
    for (const [n, what] of [[grid, "grid"], [block, "block"]] as const) {
      if (n.some((v) => !Number.isInteger(v) || v < 1)) {
        throw new RangeError(`Invalid ${what} of ${label}: got [${n}], expected positive integers`);
      }
    }
    check(
      this.cu,
      this.cu.cuLaunchKernel(
        fn,
        grid[0],
        grid[1],
        grid[2],
        block[0],
        block[1],
        block[2],
        0,
        this.stream,
        params,
        null,
      ),
      `cuLaunchKernel(${label})`,
    );
  }

  /**
   * Records the work `fn` queues on the stream into a CUDA graph instead of running it (nothing
   * executes until {@link CudaContext.launchGraph}). `fn` may only queue device work: launches,
   * device copies, cuBLASLt calls — no host copies or synchronisation.
   *
   * @param fn Queues the work.
   * @returns The instantiated graph; free it with {@link CudaContext.destroyGraph}.
   * @throws {CudaError} "driver" when capture or instantiation fails; whatever `fn` throws.
   */
  capture(fn: () => void): CudaGraph {
    this.#check();
    // CU_STREAM_CAPTURE_MODE_RELAXED (2): other host code of this thread stays unrestricted.
    check(this.cu, this.cu.cuStreamBeginCapture_v2(this.stream, 2), "cuStreamBeginCapture_v2");
    const graphBox = new BigUint64Array(1);
    try {
      fn();
    } catch (e) {
      this.cu.cuStreamEndCapture(this.stream, graphBox);
      if (graphBox[0]) this.cu.cuGraphDestroy(Deno.UnsafePointer.create(graphBox[0]));
      throw e;
    }
    check(this.cu, this.cu.cuStreamEndCapture(this.stream, graphBox), "cuStreamEndCapture");
    const graph = Deno.UnsafePointer.create(graphBox[0])!;
    const execBox = new BigUint64Array(1);
    const status = this.cu.cuGraphInstantiateWithFlags(execBox, graph, 0n);
    if (status !== 0) {
      this.cu.cuGraphDestroy(graph);
      check(this.cu, status, "cuGraphInstantiateWithFlags");
    }
    return { exec: Deno.UnsafePointer.create(execBox[0])!, graph };
  }

  /**
   * Queues a captured graph on the stream.
   *
   * @param g From {@link CudaContext.capture}.
   */
  launchGraph(g: CudaGraph): void {
    this.#check();
    check(this.cu, this.cu.cuGraphLaunch(g.exec, this.stream), "cuGraphLaunch");
  }

  /**
   * Frees a captured graph (after the work it queued has finished).
   *
   * @param g From {@link CudaContext.capture}.
   */
  destroyGraph(g: CudaGraph): void {
    if (this.#destroyed) return;
    this.cu.cuStreamSynchronize(this.stream);
    this.cu.cuGraphExecDestroy(g.exec);
    this.cu.cuGraphDestroy(g.graph);
  }

  /**
   * Milliseconds of GPU time the stream spends on `fn`'s queued work (events around it).
   *
   * @param fn Queues work on the stream.
   * @returns Elapsed GPU milliseconds.
   */
  time(fn: () => void): number {
    this.#check();
    const a = new BigUint64Array(1), b = new BigUint64Array(1);
    check(this.cu, this.cu.cuEventCreate(a, 0), "cuEventCreate");
    check(this.cu, this.cu.cuEventCreate(b, 0), "cuEventCreate");
    const start = Deno.UnsafePointer.create(a[0]), end = Deno.UnsafePointer.create(b[0]);
    try {
      check(this.cu, this.cu.cuEventRecord(start, this.stream), "cuEventRecord");
      fn();
      check(this.cu, this.cu.cuEventRecord(end, this.stream), "cuEventRecord");
      check(this.cu, this.cu.cuEventSynchronize(end), "cuEventSynchronize");
      const ms = new Float32Array(1);
      check(this.cu, this.cu.cuEventElapsedTime(ms, start, end), "cuEventElapsedTime");
      return ms[0];
    } finally {
      this.cu.cuEventDestroy_v2(start);
      this.cu.cuEventDestroy_v2(end);
    }
  }

  /** Frees every buffer and module of this context, its stream, and releases the primary context. */
  destroy(): void {
    if (this.#destroyed) return;
    try {
      this.cu.cuStreamSynchronize(this.stream);
      this.cu.cuStreamSynchronize(this.copyStream);
      for (const b of this.#live.values()) this.cu.cuMemFree_v2(b.ptr);
      for (const m of this.#modules) this.cu.cuModuleUnload(m);
      for (const h of this.#hostBuffers) this.cu.cuMemFreeHost(h);
      this.cu.cuStreamDestroy_v2(this.stream);
      this.cu.cuStreamDestroy_v2(this.copyStream);
      this.cu.cuEventDestroy_v2(this.#copyReady);
      this.cu.cuDevicePrimaryCtxRelease_v2(this.device);
    } finally {
      this.#live.clear();
      this.#hostBuffers.length = 0;
      this.#bytes = 0;
      this.#destroyed = true;
    }
  }
}

/** Throws a {@link CudaError} naming the call and the driver's status name and text. */
function check(cu: CudaLib, status: number, fn: string, extra = ""): void {
  if (status === 0) return;
  const nameBox = new BigUint64Array(1), textBox = new BigUint64Array(1);
  cu.cuGetErrorName(status, nameBox);
  cu.cuGetErrorString(status, textBox);
  const name = nameBox[0] ? cString(Deno.UnsafePointer.create(nameBox[0])) : "unknown status";
  const text = textBox[0] ? cString(Deno.UnsafePointer.create(textBox[0])) : "";
  const hint = status === 100
    ? "; no CUDA-capable device is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)"
    : status === 35 || status === 803
    ? "; the driver is older than this CUDA runtime or misconfigured: update the NVIDIA driver"
    : "";
  throw new CudaError(
    status === 100 ? "no_device" : "driver",
    `${fn} failed: ${name} (${status}) ${text}${extra}${hint}`,
    { library: "libcuda.so.1", fn, status },
  );
}

/**
 * Whether a CUDA device can be used here (libcuda opens, cuInit succeeds, at least one device).
 *
 * @returns True when a device exists.
 *
 * @example Probing
 * ```ts
 * import { hasCudaDevice } from "./context.ts";
 * if (typeof hasCudaDevice() !== "boolean") throw new Error();
 * ```
 */
export function hasCudaDevice(): boolean {
  return cudaUnavailableReason() === null;
}

/**
 * Why no CUDA device can be used here, or null when one can.
 *
 * @returns A one-line reason, or null.
 *
 * @example Printing why CUDA tests are skipped
 * ```ts
 * import { cudaUnavailableReason } from "./context.ts";
 * const why = cudaUnavailableReason();
 * if (why !== null && why.length === 0) throw new Error();
 * ```
 */
export function cudaUnavailableReason(): string | null {
  try {
    const { symbols: cu } = openCuda();
    check(cu, cu.cuInit(0), "cuInit");
    const n = new Int32Array(1);
    check(cu, cu.cuDeviceGetCount(n), "cuDeviceGetCount");
    return n[0] > 0 ? null : "the CUDA driver reports no devices";
  } catch (e) {
    return (e as Error).message;
  }
}
