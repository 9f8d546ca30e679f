/** A tiny seeded model per architecture, loaded as float64 parameters, for training tests. */
import type { Architecture, ModelConfig } from "../../src/model/config.ts";
import { makeTinyModel } from "../../src/model/tiny.ts";
import { loadParams, type Params } from "../../src/train/params.ts";

export async function tinyParams(
  architecture: Architecture,
  extra: { tieWordEmbeddings?: boolean; attentionBias?: boolean } = {},
): Promise<{ config: ModelConfig; params: Params }> {
  const dir = await Deno.makeTempDir();
  try {
    await makeTinyModel(dir, {
      architecture,
      seed: 11,
      vocabSize: 24,
      hiddenSize: 16,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      dtype: "F32",
      ...extra,
    });
    return await loadParams(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Deterministic pseudo-random numbers in [0, 1) (a small LCG: tests need no quality). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
