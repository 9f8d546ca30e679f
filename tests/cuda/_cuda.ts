/** CUDA test helpers: GPU tests are ignored, with the reason printed once, where no device exists. */
import { cudaUnavailableReason } from "../../src/cuda/context.ts";
import { nvrtcVersion } from "../../src/cuda/nvrtc.ts";

/** Why CUDA device tests are ignored here, or null when a device exists. */
export const NO_CUDA: string | null = cudaUnavailableReason();
if (NO_CUDA !== null) console.warn(`CUDA device tests ignored: ${NO_CUDA}`);

function nvrtcReason(): string | null {
  try {
    nvrtcVersion();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Why NVRTC compile tests are ignored here, or null when libnvrtc opens. */
export const NO_NVRTC: string | null = nvrtcReason();
if (NO_NVRTC !== null) console.warn(`NVRTC tests ignored: ${NO_NVRTC}`);

/** Deno.test ignored where there is no CUDA device. */
export function cudaTest(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name, ignore: NO_CUDA !== null, fn });
}

/** Deno.test ignored where NVRTC cannot be opened. */
export function nvrtcTest(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name, ignore: NO_NVRTC !== null, fn });
}
