/**
 * In-memory checkpoints with random weights shaped like real models, for benchmarks: tensors are
 * produced on demand (the Checkpoint interface), so nothing is written to disk.
 */
import type { Checkpoint } from "../src/model/checkpoint.ts";
import { expectedTensorShapes } from "../src/model/checkpoint.ts";
import type { ModelConfig } from "../src/model/config.ts";
import type { TensorInfo } from "../src/model/safetensors.ts";

/** Configs shaped like the public checkpoints (HF config.json values). */
export const SHAPES: Record<string, ModelConfig> = {
  "qwen2.5-0.5b": {
    architecture: "qwen2",
    hiddenSize: 896,
    intermediateSize: 4864,
    numLayers: 24,
    numHeads: 14,
    numKvHeads: 2,
    headDim: 64,
    vocabSize: 151936,
    rmsNormEps: 1e-6,
    ropeTheta: 1e6,
    ropeScaling: null,
    maxPositionEmbeddings: 32768,
    tieWordEmbeddings: true,
    attentionBias: true,
    outputBias: false,
    qkNorm: false,
    bosTokenId: null,
    eosTokenIds: [151645],
    padTokenId: 151643,
    torchDtype: "bfloat16",
  },
  "qwen3-4b": {
    architecture: "qwen3",
    hiddenSize: 2560,
    intermediateSize: 9728,
    numLayers: 36,
    numHeads: 32,
    numKvHeads: 8,
    headDim: 128,
    vocabSize: 151936,
    rmsNormEps: 1e-6,
    ropeTheta: 1e6,
    ropeScaling: null,
    maxPositionEmbeddings: 40960,
    tieWordEmbeddings: true,
    attentionBias: false,
    outputBias: false,
    qkNorm: true,
    bosTokenId: null,
    eosTokenIds: [151645],
    padTokenId: 151643,
    torchDtype: "bfloat16",
  },
};

/** xorshift32 floats in [-1, 1). */
function pool(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 2147483648) - 1;
  }
  return out;
}

/**
 * A checkpoint of random weights (std ≈ 0.02 like HF's initializer; norm weights ≈ 1).
 *
 * @param config Shape.
 * @param seed Seed of the random pool.
 */
export function randomCheckpoint(config: ModelConfig, seed = 1): Checkpoint {
  const POOL = 1 << 24;
  const weights = pool(POOL, seed).map((v) => v * 0.035); // uniform ±0.035: std 0.02
  const norms = pool(65536, seed + 1).map((v) => 1 + 0.1 * v);
  const shapes = expectedTensorShapes(config);
  const tensors = new Map<string, TensorInfo>();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors.set(name, {
      name,
      dtype: "F32",
      shape,
      file: "<random>",
      byteOffset: 0,
      byteLength: 4 * n,
    });
  }
  let offset = 0;
  const readF32 = (name: string): Promise<Float32Array> => {
    const info = tensors.get(name);
    if (!info) throw new Error(`no tensor ${name}`);
    const n = info.byteLength / 4;
    const isNorm = name.endsWith("norm.weight");
    if (isNorm) return Promise.resolve(norms.subarray(0, n));
    if (n <= POOL) {
      offset = (offset + 7919) % (POOL - n + 1);
      return Promise.resolve(weights.subarray(offset, offset + n));
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += POOL) out.set(weights.subarray(0, Math.min(POOL, n - i)), i);
    return Promise.resolve(out);
  };
  return {
    dir: "<random>",
    config,
    tensors,
    readRaw: async (name) => new Uint8Array((await readF32(name)).slice().buffer),
    readF32,
    close: () => {},
  };
}

/** Parses `--key value` flags. */
export function flags(args: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith("--")) continue;
    const key = args[i].slice(2);
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith("--")) {
      m.set(key, next);
      i++;
    } else {
      m.set(key, "true");
    }
  }
  return m;
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
