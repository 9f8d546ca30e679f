/** Runs one bound dispatch list over `rows` and waits for it. */
import { type Dispatch, encodeDispatch, type GpuContext } from "../../src/gpu/context.ts";

export async function dispatch(
  ctx: GpuContext,
  ops: Dispatch | Dispatch[],
  n: number,
): Promise<void> {
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (const op of Array.isArray(ops) ? ops : [ops]) encodeDispatch(pass, op, n);
  pass.end();
  ctx.device.queue.submit([enc.finish()]);
  await ctx.device.queue.onSubmittedWorkDone();
  ctx.checkAlive();
}

/** A storage buffer holding `data`. */
export function upload(ctx: GpuContext, data: ArrayBufferView, label = "data"): GPUBuffer {
  const b = ctx.storage(Math.max(16, data.byteLength), label);
  ctx.write(b, 0, data);
  return b;
}

/** Reads `count` f32 values. */
export async function readF32(ctx: GpuContext, b: GPUBuffer, count: number): Promise<Float32Array> {
  return new Float32Array(await ctx.read(b, 0, count * 4));
}
