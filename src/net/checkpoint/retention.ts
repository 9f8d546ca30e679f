/**
 * Which checkpoint windows to keep (infra spec §4.7), as pure functions: the shared policy
 * consumers apply to their cache and the trainer's remote cleanup, which adds the newest FULL and
 * DELTA checkpoints and every window their delta chains need.
 *
 * @module
 */

import type { CheckpointInventory } from "./layout.ts";

/** Blocks per window. */
export const WINDOW_LENGTH = 30;
/** Windows between FULL anchors (`DELTA_BASE_INTERVAL`). */
export const DELTA_BASE_INTERVAL = 10;
/** Blocks between anchors: 300. */
export const ANCHOR_STRIDE: number = DELTA_BASE_INTERVAL * WINDOW_LENGTH;

/** Options of {@link computeRetentionWindows}. */
export interface RetentionOptions {
  /** First windows always kept (default 10: windows 0, 30, …, 270). */
  bootstrapWindows?: number;
  /** `GRAIL_CHECKPOINT_MILESTONE_INTERVAL` in windows (default 0 = none). */
  milestoneIntervalWindows?: number;
}

/**
 * Whether a window is an anchor (FULL) window.
 *
 * @param window A window start.
 * @returns `window % 300 === 0`.
 */
export function isAnchorWindow(window: number): boolean {
  return window % ANCHOR_STRIDE === 0;
}

/**
 * The reference's `compute_retention_windows(current)`: bootstrap windows up to `current`, every
 * window from the previous anchor to `current`, and milestones.
 *
 * @param current Newest window.
 * @param options Bootstrap count and milestone interval.
 * @returns Windows to keep (empty for a negative `current`).
 *
 * @example
 * ```ts
 * import { computeRetentionWindows } from "./retention.ts";
 * const keep = computeRetentionWindows(630);
 * if (!keep.has(300) || keep.has(270 + 300) === false || keep.has(660)) throw new Error();
 * ```
 */
export function computeRetentionWindows(
  current: number,
  options: RetentionOptions = {},
): Set<number> {
  const keep = new Set<number>();
  if (current < 0) return keep;
  const bootstrap = options.bootstrapWindows ?? 10;
  for (let w = 0; w < bootstrap * WINDOW_LENGTH; w += WINDOW_LENGTH) if (w <= current) keep.add(w);
  const anchor = Math.floor(current / ANCHOR_STRIDE) * ANCHOR_STRIDE;
  for (
    let w = Math.max(0, anchor - ANCHOR_STRIDE);
    w < current + WINDOW_LENGTH;
    w += WINDOW_LENGTH
  ) {
    keep.add(w);
  }
  const milestones = options.milestoneIntervalWindows ?? 0;
  if (milestones > 0) {
    for (let w = 0; w <= current; w += milestones * WINDOW_LENGTH) keep.add(w);
  }
  return keep;
}

/** A delta checkpoint's links, from its `delta_metadata.json` (null when unreadable). */
export interface DeltaLinks {
  /** FULL checkpoint the chain starts from. */
  anchorWindow: number | null;
  /** Immediate predecessor. */
  prevWindow: number | null;
}

/**
 * The reference's `compute_chain_windows`: for each retained delta, its anchor and every window
 * on its `prev_window` chain down to that anchor (cycles stop the walk).
 *
 * @param retainedDeltas Delta windows being kept.
 * @param links Links of every known delta window.
 * @returns Windows the chains need.
 */
export function computeChainWindows(
  retainedDeltas: Iterable<number>,
  links: ReadonlyMap<number, DeltaLinks>,
): Set<number> {
  const keep = new Set<number>();
  for (const delta of retainedDeltas) {
    const anchor = links.get(delta)?.anchorWindow ?? null;
    if (anchor === null) continue;
    keep.add(anchor);
    const visited = new Set([delta]);
    let current = delta;
    for (;;) {
      const prev = links.get(current)?.prevWindow ?? null;
      if (prev === null) break;
      keep.add(prev);
      if (visited.has(prev) || prev === anchor) break;
      visited.add(prev);
      current = prev;
    }
  }
  return keep;
}

/** Limits of the trainer's remote cleanup. */
export interface RemoteRetentionOptions extends RetentionOptions {
  /** Newest FULL checkpoints kept (`GRAIL_BASE_CHECKPOINT_RETENTION_LIMIT`, default 3). */
  fullLimit?: number;
  /** Newest DELTA checkpoints kept (`GRAIL_DELTA_CHECKPOINT_RETENTION_LIMIT`, default 15). */
  deltaLimit?: number;
}

/**
 * The trainer's remote keep-set (the reference's `_compute_keep_windows`): shared policy with
 * current = newest listed window, ∪ newest FULLs, ∪ newest DELTAs, ∪ every window the retained
 * deltas' chains need; a retained delta without links keeps the nearest older FULL.
 *
 * @param inventory The listing, classified.
 * @param links `delta_metadata.json` links of every delta window.
 * @param options Limits.
 * @returns Windows to keep; empty when nothing is listed (callers then delete nothing).
 */
export function computeRemoteKeepWindows(
  inventory: CheckpointInventory,
  links: ReadonlyMap<number, DeltaLinks>,
  options: RemoteRetentionOptions = {},
): Set<number> {
  if (inventory.full.length === 0 && inventory.delta.length === 0) return new Set();
  const current = inventory.all.length > 0 ? Math.max(...inventory.all) : 0;
  const keep = computeRetentionWindows(current, options);
  for (const w of inventory.full.slice(0, options.fullLimit ?? 3)) keep.add(w);
  const deltasToKeep = inventory.delta.slice(0, options.deltaLimit ?? 15);
  for (const w of deltasToKeep) keep.add(w);
  const deltaSet = new Set(inventory.delta);
  const retained = new Set([...keep].filter((w) => deltaSet.has(w)).concat(deltasToKeep));
  for (const w of computeChainWindows(retained, links)) keep.add(w);
  for (const dw of deltasToKeep) {
    if ((links.get(dw)?.anchorWindow ?? null) !== null) continue;
    const older = inventory.full.find((fw) => fw < dw);
    if (older !== undefined) keep.add(older);
  }
  return keep;
}
