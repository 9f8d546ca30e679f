/** GPU test helpers: tests run on any adapter (llvmpipe included) and are ignored without one. */
import { GpuContext } from "../../src/gpu/context.ts";

const adapter = await navigator.gpu?.requestAdapter() ?? null;

/** Why GPU tests are ignored here, or null when an adapter exists. */
export const NO_GPU: string | null = adapter === null
  ? "no WebGPU adapter: navigator.gpu.requestAdapter() returned null"
  : null;

if (NO_GPU !== null) console.warn(`GPU tests ignored: ${NO_GPU}`);

/** Deno.test that is ignored, with the reason printed once, where there is no adapter. */
export function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: NO_GPU !== null, fn });
}

/** Runs `fn` with a fresh context, destroyed afterwards. */
export async function withContext<T>(fn: (ctx: GpuContext) => Promise<T>): Promise<T> {
  const ctx = await GpuContext.create();
  try {
    return await fn(ctx);
  } finally {
    ctx.destroy();
  }
}

/** Deterministic pseudo-random floats in [-scale, scale) (xorshift32). */
export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Largest |a[i] − b[i]|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Bitwise equality of two float arrays (NaN payloads and signed zeros included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Why f16 GPU tests are ignored here, or null when the adapter has `shader-f16`. */
export const NO_F16: string | null = NO_GPU ??
  (adapter!.features.has("shader-f16") ? null : "the WebGPU adapter lacks shader-f16");

if (NO_GPU === null && NO_F16 !== null) console.warn(`f16 GPU tests ignored: ${NO_F16}`);

/** Deno.test that needs `shader-f16`; ignored, with the reason printed once, elsewhere. */
export function gpuF16Test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: NO_F16 !== null, fn });
}

/** Why subgroup GPU tests are ignored here, or null when the device grants `subgroups`. */
export const NO_SUBGROUPS: string | null = NO_GPU ??
  await adapter!.requestDevice({ requiredFeatures: ["subgroups" as GPUFeatureName] }).then(
    (d) => {
      d.destroy();
      return null;
    },
    (e) => `the WebGPU device refuses the subgroups feature (${(e as Error).message})`,
  );

if (NO_GPU === null && NO_SUBGROUPS !== null) {
  console.warn(`subgroup GPU tests ignored: ${NO_SUBGROUPS}`);
}

/** Deno.test that needs `subgroups`; ignored, with the reason printed once, elsewhere. */
export function gpuSubgroupTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: NO_SUBGROUPS !== null, fn });
}
