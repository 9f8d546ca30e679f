/**
 * Which miners a validator checks in a window (protocol spec §5.2, infra spec §5.1): a quarter
 * of the eligible miners (at least 2, at most 35), least-recently-selected first, ties broken
 * by a hash of the window hash and the hotkey.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { MINER_SAMPLE_MAX, MINER_SAMPLE_MIN, MINER_SAMPLE_RATE } from "./constants.ts";

/** Sampling bounds; defaults are the reference's. */
export interface MinerSampleOptions {
  /** Fraction of eligible miners (default 0.25). */
  rate?: number;
  /** Minimum (default 2). */
  min?: number;
  /** Maximum, or null for none (default 35). */
  max?: number | null;
}

/**
 * `min(n, min(max, max(min, ceil(n·rate))))`, 0 for no miners.
 *
 * @param eligible Number of eligible miners.
 * @param options Rate and bounds.
 * @returns Miners to check.
 *
 * @example
 * ```ts
 * import { minerSampleSize } from "./miner_sampling.ts";
 * if (minerSampleSize(9) !== 3 || minerSampleSize(141) !== 35 || minerSampleSize(1) !== 1) {
 *   throw new Error();
 * }
 * ```
 */
export function minerSampleSize(eligible: number, options: MinerSampleOptions = {}): number {
  if (eligible <= 0) return 0;
  const rate = options.rate ?? MINER_SAMPLE_RATE;
  const min = options.min ?? MINER_SAMPLE_MIN;
  const max = options.max === undefined ? MINER_SAMPLE_MAX : options.max;
  let k = Math.max(min, Math.ceil(eligible * rate));
  if (max !== null) k = Math.min(k, max);
  return Math.min(k, eligible);
}

/**
 * The tie-break key: the first 8 bytes of `sha256("{windowHash}:{hotkey}")`, big-endian.
 *
 * @param windowHash The target window's block hash, exactly as the chain returns it.
 * @param hotkey The miner's hotkey.
 * @returns The key (a bigint: it exceeds 2^53).
 *
 * @example
 * ```ts
 * import { minerTiebreakKey } from "./miner_sampling.ts";
 * if (minerTiebreakKey("0x00", "5X") === minerTiebreakKey("0x01", "5X")) throw new Error();
 * ```
 */
export function minerTiebreakKey(windowHash: string, hotkey: string): bigint {
  const d = sha256(new TextEncoder().encode(`${windowHash}:${hotkey}`));
  let n = 0n;
  for (let i = 0; i < 8; i++) n = (n << 8n) | BigInt(d[i]);
  return n;
}

/**
 * The miners to check: eligible miners ranked by (selections in the last 12 windows, tie-break
 * key) ascending, first `minerSampleSize` of them.
 *
 * @param eligible Active miners without a failure in the last 14 windows.
 * @param windowHash The target window's block hash.
 * @param selectionCounts Selections per hotkey over the last 12 windows (absent = 0).
 * @param options Rate and bounds.
 * @returns The chosen hotkeys, in rank order.
 *
 * @example
 * ```ts
 * import { selectMinersForValidation } from "./miner_sampling.ts";
 * const chosen = selectMinersForValidation(["a", "b", "c"], "0x00", new Map([["a", 3]]));
 * if (chosen.length !== 2 || chosen.includes("a")) throw new Error();
 * ```
 */
export function selectMinersForValidation(
  eligible: readonly string[],
  windowHash: string,
  selectionCounts: ReadonlyMap<string, number>,
  options: MinerSampleOptions = {},
): string[] {
  const size = minerSampleSize(eligible.length, options);
  if (size === 0) return [];
  const keyed = eligible.map((hk) => ({
    hk,
    count: selectionCounts.get(hk) ?? 0,
    key: minerTiebreakKey(windowHash, hk),
  }));
  keyed.sort((a, b) =>
    a.count !== b.count ? a.count - b.count : a.key < b.key ? -1 : a.key > b.key ? 1 : 0
  );
  return keyed.slice(0, size).map((e) => e.hk);
}
