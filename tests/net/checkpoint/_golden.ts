/**
 * The golden state dicts of tests/fixtures/checkpoint/make_delta_golden.py, rebuilt from the
 * same integer formulas (so no weights are stored), and the files that script wrote with the
 * reference's own sparse codec.
 */

import type { RawTensor, StateDict } from "../../../src/net/checkpoint/state_dict.ts";

/** (name, dtype, shape, changed flat positions), in the script's dict order. */
export const SPECS: [string, "BF16" | "F32", number[], number[]][] = [
  ["model.embed_tokens.weight", "BF16", [300, 8], [11, 15, 2320, 2399]],
  ["model.layers.0.mlp.up_proj.weight", "BF16", [2, 70000], [5, 69000, 70003, 139999]],
  ["model.layers.0.self_attn.q_norm.weight", "F32", [40], [0, 39]],
  ["model.layers.0.attn.k.weight", "BF16", [3, 4, 5], [0, 19, 20, 59]],
  ["lm_head.scale", "BF16", [1], [0]],
  ["model.norm.weight", "BF16", [16], []],
];

function tensor(
  ti: number,
  dtype: "BF16" | "F32",
  shape: number[],
  changed: number[],
  current: boolean,
): RawTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === "BF16") {
    const bits = new Uint16Array(n);
    for (let i = 0; i < n; i++) bits[i] = 0x3c00 + (i * 37 + ti * 101) % 1024;
    if (current) { for (const p of changed) bits[p] ^= 0x15; }
    return { dtype, shape, data: new Uint8Array(bits.buffer) };
  }
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) bits[i] = 0x3f000000 + ((i * 7919 + ti) % 65536) * 64;
  if (current) { for (const p of changed) bits[p] ^= 0x1234; }
  return { dtype, shape, data: new Uint8Array(bits.buffer) };
}

/** The base (previous) or current weights of the golden delta. */
export function goldenStateDict(current: boolean): StateDict {
  return new Map(SPECS.map(([name, dtype, shape, changed], ti) => [
    name,
    tensor(ti, dtype, shape, changed, current),
  ]));
}

/** Folder of the reference-made files. */
export const GOLDEN_DIR: URL = new URL("../../fixtures/checkpoint/", import.meta.url);

/** Expected values printed by the reference (hashes, stats, payload of an empty delta). */
export interface GoldenExpected {
  hash_base: string;
  hash_current: string;
  stats: { total_params: number; nonzero_params: number; sparsity_ratio: number };
  shapes: Record<string, number[]>;
  formats: Record<"v2" | "v3" | "v31", { hash_reconstructed: string }>;
  empty_v31_payload_hex: string;
}
