/**
 * Shared plumbing of the training kernels: a uniform block written from typed fields and a
 * dispatch whose bind group is made once (the `Dispatch` of `../context.ts`, with a fixed grid).
 *
 * @module
 */

import type { BindingKind, Dispatch, GpuContext } from "../context.ts";

/** A uniform field: an unsigned integer or a float32. */
export type UniformField = { u32: number } | { f32: number };

/** Packs fields into 4-byte words, padded to a multiple of 16 bytes (WGSL uniform layout). */
export function uniformWords(fields: readonly UniformField[]): Uint32Array {
  const words = new Uint32Array(Math.ceil(fields.length / 4) * 4);
  const f32 = new Float32Array(words.buffer);
  fields.forEach((f, i) => {
    if ("u32" in f) words[i] = f.u32;
    else f32[i] = f.f32;
  });
  return words;
}

/** A compiled entry point and the binding kinds of its layout. */
export interface CompiledKernel {
  /** The pipeline. */
  pipeline: GPUComputePipeline;
  /** Layout, in binding order. */
  bindings: readonly BindingKind[];
  /** Label for errors. */
  label: string;
}

/** Compiles one entry point of a WGSL module with an explicit layout. */
export async function compileKernel(
  ctx: GpuContext,
  code: string,
  entry: string,
  constants: Record<string, number>,
  bindings: readonly BindingKind[],
): Promise<CompiledKernel> {
  return {
    pipeline: await ctx.pipeline(code, entry, constants, entry, bindings),
    bindings,
    label: entry,
  };
}

/** A dispatch and its uniform block (rewritten in place when a scalar changes, e.g. AdamW's step). */
export interface BoundKernel extends Dispatch {
  /** The uniform buffer (binding 0), owned by the context. */
  params: GPUBuffer;
}

/**
 * Binds a kernel once: a uniform block from `fields` (binding 0) and `buffers` (bindings 1..);
 * the grid is fixed at bind time (training shapes do not change within a step).
 */
export function bindKernel(
  ctx: GpuContext,
  kernel: CompiledKernel,
  fields: readonly UniformField[],
  buffers: readonly GPUBuffer[],
  grid: [number, number, number],
): BoundKernel {
  if (buffers.length + 1 !== kernel.bindings.length) {
    throw new RangeError(
      `Invalid buffers for ${kernel.label}: got ${buffers.length}, expected ${
        kernel.bindings.length - 1
      } (bindings 1..${kernel.bindings.length - 1})`,
    );
  }
  const params = ctx.uniform(uniformWords(fields), `${kernel.label}-params`);
  return {
    pipeline: kernel.pipeline,
    bindGroup: ctx.bindGroup(kernel.pipeline, [params, ...buffers], kernel.label),
    grid: () => grid,
    params,
  };
}
