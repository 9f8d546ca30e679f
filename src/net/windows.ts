/**
 * Windows and timing (infra spec §1): window arithmetic, the validator's upload deadline, and the
 * miner's time budget. Pure functions: callers pass blocks, timestamps and state; nothing here
 * reads a clock.
 *
 * @module
 */

/** Blocks per window (infra spec §1.1). */
export const WINDOW_LENGTH = 30;
/** Nominal seconds per block; seeds the miner's block-time EMA. */
export const BLOCK_TIME_SECONDS = 12;
/** Added to the deadline block's timestamp (a negative slack: files must land 4 s early). */
export const DEADLINE_SLACK_SECONDS: number = -4;
/** Blocks between weight submissions. */
export const WEIGHT_SUBMISSION_INTERVAL_BLOCKS = 360;
/** Windows in the weights' rolling history: 360 / 30. */
export const WEIGHT_ROLLING_WINDOWS = WEIGHT_SUBMISSION_INTERVAL_BLOCKS / WINDOW_LENGTH;
/** Windows a validator looks back for miner failures. */
export const FAILURE_LOOKBACK_WINDOWS = 14;
/** Default `GRAIL_MINER_SAFETY_BLOCKS`. */
export const MINER_SAFETY_BLOCKS = 3;
/** Smoothing factor of the miner's EMAs. */
export const MINER_EMA_ALPHA = 0.2;
/** Cap on one generation-time sample: one window of nominal blocks (30 × 12 s). */
export const MAX_GENERATION_SAMPLE_SECONDS = WINDOW_LENGTH * BLOCK_TIME_SECONDS;
/** Smallest window file a validator counts as activity (infra spec §4.4). */
export const MIN_WINDOW_FILE_BYTES = 200;
/** Timestamps above this are milliseconds, below it seconds (infra spec §1.4). */
const MS_TIMESTAMP_THRESHOLD = 1e12;

function requireBlock(name: string, block: number): void {
  if (!Number.isSafeInteger(block) || block < 0) {
    throw new RangeError(`${name} must be a non-negative integer block number, got ${block}`);
  }
}

/**
 * Window start of a block: `floor(block / 30) * 30`.
 *
 * @param block Block number.
 * @returns First block of its window.
 * @throws {RangeError} For a negative or non-integer block.
 *
 * @example
 * ```ts
 * import { windowStart } from "./windows.ts";
 * if (windowStart(1000) !== 990 || windowStart(1020) !== 1020) throw new Error("unexpected");
 * ```
 */
export function windowStart(block: number): number {
  requireBlock("block", block);
  return Math.floor(block / WINDOW_LENGTH) * WINDOW_LENGTH;
}

/**
 * The window to process after `lastWindow`: 0 when nothing was processed, else `last + 30`.
 *
 * @param lastWindow Last processed window start, or `null`.
 * @returns Next window start.
 * @throws {RangeError} When `lastWindow` is not a window start.
 *
 * @example
 * ```ts
 * import { nextWindow } from "./windows.ts";
 * if (nextWindow(null) !== 0 || nextWindow(990) !== 1020) throw new Error("unexpected");
 * ```
 */
export function nextWindow(lastWindow: number | null): number {
  if (lastWindow === null) return 0;
  requireWindow("lastWindow", lastWindow);
  return lastWindow + WINDOW_LENGTH;
}

function requireWindow(name: string, window: number): void {
  requireBlock(name, window);
  if (window % WINDOW_LENGTH !== 0) {
    throw new RangeError(`${name} must be a multiple of ${WINDOW_LENGTH}, got ${window}`);
  }
}

/**
 * The window a validator checks at head block `head`: the last completed one, `W(head) − 30`;
 * `null` while the chain is still in its first window.
 *
 * @param head Best block number.
 * @returns Target window start or `null`.
 *
 * @example
 * ```ts
 * import { validatorTargetWindow } from "./windows.ts";
 * if (validatorTargetWindow(1000) !== 960 || validatorTargetWindow(29) !== null) {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function validatorTargetWindow(head: number): number | null {
  const target = windowStart(head) - WINDOW_LENGTH;
  return target < 0 ? null : target;
}

/**
 * First block of the next window: the block whose timestamp sets window `T`'s upload deadline.
 *
 * @param window Window start `T`.
 * @returns `T + 30`.
 * @throws {RangeError} When `window` is not a window start.
 *
 * @example
 * ```ts
 * import { deadlineBlock } from "./windows.ts";
 * if (deadlineBlock(990) !== 1020) throw new Error("unexpected");
 * ```
 */
export function deadlineBlock(window: number): number {
  requireWindow("window", window);
  return window + WINDOW_LENGTH;
}

/**
 * Upload deadline in Unix seconds from the deadline block's `Timestamp.Now`: values above 1e12
 * are milliseconds and are divided by 1000; then the −4 s slack is applied (infra spec §1.4).
 *
 * @param blockTimestamp `Timestamp.Now` of block `T + 30` (ms, or s if ≤ 1e12).
 * @returns Deadline in (possibly fractional) Unix seconds.
 * @throws {RangeError} For a non-finite or negative timestamp.
 *
 * @example
 * ```ts
 * import { deadlineFromBlockTimestamp } from "./windows.ts";
 * if (deadlineFromBlockTimestamp(1_700_000_012_000) !== 1_700_000_008) throw new Error("ms");
 * if (deadlineFromBlockTimestamp(1_700_000_012) !== 1_700_000_008) throw new Error("s");
 * ```
 */
export function deadlineFromBlockTimestamp(blockTimestamp: number): number {
  if (!Number.isFinite(blockTimestamp) || blockTimestamp < 0) {
    throw new RangeError(
      `Block timestamp must be a finite non-negative number, got ${blockTimestamp}`,
    );
  }
  const seconds = blockTimestamp > MS_TIMESTAMP_THRESHOLD ? blockTimestamp / 1000 : blockTimestamp;
  return seconds + DEADLINE_SLACK_SECONDS;
}

/**
 * Estimates a block's timestamp by extrapolating the rate between two known blocks (the
 * validator's last deadline fallback: head and the block 100 earlier).
 *
 * @param known Two `(block, timestampSeconds)` points with different blocks.
 * @param targetBlock Block to estimate.
 * @returns Estimated Unix seconds.
 * @throws {RangeError} When both points have the same block.
 *
 * @example
 * ```ts
 * import { extrapolateBlockTimestamp } from "./windows.ts";
 * const t = extrapolateBlockTimestamp({ block: 900, seconds: 1000 }, { block: 1000, seconds: 2200 }, 1020);
 * if (t !== 2440) throw new Error(`unexpected ${t}`);
 * ```
 */
export function extrapolateBlockTimestamp(
  earlier: { block: number; seconds: number },
  later: { block: number; seconds: number },
  targetBlock: number,
): number {
  if (earlier.block === later.block) {
    throw new RangeError(`Extrapolation needs two different blocks, got ${earlier.block} twice`);
  }
  const secondsPerBlock = (later.seconds - earlier.seconds) / (later.block - earlier.block);
  return later.seconds + (targetBlock - later.block) * secondsPerBlock;
}

/**
 * Whether an object's `LastModified` meets the deadline. S3's HEAD reports whole seconds, so the
 * time is floored to seconds before comparing (`LastModified ≤ deadline`).
 *
 * @param lastModified Object's LastModified.
 * @param deadlineSeconds From {@linkcode deadlineFromBlockTimestamp}.
 * @returns `true` when on time.
 *
 * @example
 * ```ts
 * import { isBeforeDeadline } from "./windows.ts";
 * if (!isBeforeDeadline(new Date(1_700_000_008_900), 1_700_000_008)) throw new Error("floor");
 * if (isBeforeDeadline(new Date(1_700_000_009_000), 1_700_000_008)) throw new Error("late");
 * ```
 */
export function isBeforeDeadline(lastModified: Date, deadlineSeconds: number): boolean {
  return Math.floor(lastModified.getTime() / 1000) <= deadlineSeconds;
}

/**
 * The validator's activity rule (infra spec §4.4): a window file exists, holds at least 200 bytes
 * and was last modified by the deadline. With no deadline (every timestamp source failed) the
 * time condition is dropped, as in the reference.
 *
 * @param info HEAD result, or `null` when the object is absent.
 * @param deadlineSeconds Deadline, or `null` when none could be computed.
 * @returns Whether the miner counts as active for the window.
 *
 * @example
 * ```ts
 * import { isActiveWindowFile } from "./windows.ts";
 * const info = { sizeBytes: 5000, lastModified: new Date(1_000_000) };
 * if (!isActiveWindowFile(info, 1000) || isActiveWindowFile(null, 1000)) throw new Error("unexpected");
 * ```
 */
export function isActiveWindowFile(
  info: { sizeBytes: number; lastModified: Date } | null,
  deadlineSeconds: number | null,
): boolean {
  if (info === null || info.sizeBytes < MIN_WINDOW_FILE_BYTES) return false;
  return deadlineSeconds === null || isBeforeDeadline(info.lastModified, deadlineSeconds);
}

/**
 * Blocks left in `window` at head `head`: `window + 30 − head`.
 *
 * @param window Window start.
 * @param head Best block.
 * @returns Remaining blocks (≤ 0 once the window is over).
 *
 * @example
 * ```ts
 * import { blocksRemaining } from "./windows.ts";
 * if (blocksRemaining(990, 1000) !== 20) throw new Error("unexpected");
 * ```
 */
export function blocksRemaining(window: number, head: number): number {
  requireWindow("window", window);
  requireBlock("head", head);
  return window + WINDOW_LENGTH - head;
}

/**
 * The miner's timing estimates (infra spec §1.3). `null` EMAs have no sample yet and fall back to
 * 6 block-times (generation) and 1 block-time (upload).
 */
export interface MinerTimeBudget {
  /** Seconds per block, EMA seeded at 12. */
  blockTimeSeconds: number;
  /** Seconds per GRPO group generation, or `null` before the first sample. */
  generationSeconds: number | null;
  /** Seconds per window upload, or `null` before the first sample. */
  uploadSeconds: number | null;
}

/**
 * The budget before any observation.
 *
 * @returns `{ blockTimeSeconds: 12, generationSeconds: null, uploadSeconds: null }`.
 *
 * @example
 * ```ts
 * import { initialMinerTimeBudget } from "./windows.ts";
 * if (initialMinerTimeBudget().blockTimeSeconds !== 12) throw new Error("unexpected");
 * ```
 */
export function initialMinerTimeBudget(): MinerTimeBudget {
  return { blockTimeSeconds: BLOCK_TIME_SECONDS, generationSeconds: null, uploadSeconds: null };
}

function ema(previous: number | null, sample: number): number {
  return previous === null ? sample : MINER_EMA_ALPHA * sample + (1 - MINER_EMA_ALPHA) * previous;
}

/**
 * Folds an observed `Δt / Δblocks` between two head reads into the block-time EMA. Reads with
 * no new block carry no rate and leave the budget unchanged.
 *
 * @param budget Current budget.
 * @param elapsedSeconds Wall time between the reads.
 * @param elapsedBlocks Blocks between the reads.
 * @returns The new budget.
 *
 * @example
 * ```ts
 * import { initialMinerTimeBudget, observeBlockTime } from "./windows.ts";
 * const b = observeBlockTime(initialMinerTimeBudget(), 22, 1);
 * // 0.2 · 22 + 0.8 · 12 = 14 up to float rounding
 * if (Math.abs(b.blockTimeSeconds - 14) > 1e-9) throw new Error(`unexpected ${b.blockTimeSeconds}`);
 * ```
 */
export function observeBlockTime(
  budget: MinerTimeBudget,
  elapsedSeconds: number,
  elapsedBlocks: number,
): MinerTimeBudget {
  if (!(elapsedBlocks > 0) || !(elapsedSeconds > 0)) return budget;
  return {
    ...budget,
    blockTimeSeconds: ema(budget.blockTimeSeconds, elapsedSeconds / elapsedBlocks),
  };
}

/**
 * Folds one group's generation time into its EMA (the first sample seeds it; each sample is
 * capped at 360 s).
 *
 * @param budget Current budget.
 * @param seconds Duration of one GRPO group.
 * @returns The new budget.
 *
 * @example
 * ```ts
 * import { initialMinerTimeBudget, observeGeneration } from "./windows.ts";
 * const b = observeGeneration(initialMinerTimeBudget(), 1000);
 * if (b.generationSeconds !== 360) throw new Error("cap");
 * ```
 */
export function observeGeneration(budget: MinerTimeBudget, seconds: number): MinerTimeBudget {
  const sample = Math.min(seconds, MAX_GENERATION_SAMPLE_SECONDS);
  return { ...budget, generationSeconds: ema(budget.generationSeconds, sample) };
}

/**
 * Folds one upload's duration into its EMA (the first sample seeds it).
 *
 * @param budget Current budget.
 * @param seconds Duration of the window upload.
 * @returns The new budget.
 *
 * @example
 * ```ts
 * import { initialMinerTimeBudget, observeUpload } from "./windows.ts";
 * if (observeUpload(initialMinerTimeBudget(), 5).uploadSeconds !== 5) throw new Error("seed");
 * ```
 */
export function observeUpload(budget: MinerTimeBudget, seconds: number): MinerTimeBudget {
  return { ...budget, uploadSeconds: ema(budget.uploadSeconds, seconds) };
}

/**
 * Blocks that must remain before starting another group:
 * `clamp(ceil((gen + upload + safety·bt) / bt), 1, 29)`.
 *
 * @param budget Current budget.
 * @param safetyBlocks `GRAIL_MINER_SAFETY_BLOCKS` (default 3).
 * @returns Needed blocks in [1, 29].
 *
 * @example With defaults: ceil((72 + 12 + 36) / 12) = 10
 * ```ts
 * import { initialMinerTimeBudget, neededBlocks } from "./windows.ts";
 * if (neededBlocks(initialMinerTimeBudget()) !== 10) throw new Error("unexpected");
 * ```
 */
export function neededBlocks(
  budget: MinerTimeBudget,
  safetyBlocks: number = MINER_SAFETY_BLOCKS,
): number {
  const bt = budget.blockTimeSeconds;
  const generation = budget.generationSeconds ?? 6 * bt;
  const upload = budget.uploadSeconds ?? bt;
  const needed = Math.ceil((generation + upload + safetyBlocks * bt) / bt);
  return Math.min(Math.max(needed, 1), WINDOW_LENGTH - 1);
}

/**
 * The miner's gate before each group: false once the head has left `window` or when
 * `blocksRemaining ≤ neededBlocks`.
 *
 * @param budget Current budget.
 * @param window Window being mined.
 * @param head Best block just read.
 * @param safetyBlocks Safety margin in blocks.
 * @returns Whether another group fits.
 *
 * @example
 * ```ts
 * import { hasTimeForNextGeneration, initialMinerTimeBudget } from "./windows.ts";
 * const b = initialMinerTimeBudget();
 * if (!hasTimeForNextGeneration(b, 990, 1009) || hasTimeForNextGeneration(b, 990, 1010)) {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function hasTimeForNextGeneration(
  budget: MinerTimeBudget,
  window: number,
  head: number,
  safetyBlocks: number = MINER_SAFETY_BLOCKS,
): boolean {
  if (windowStart(head) > window) return false;
  return blocksRemaining(window, head) > neededBlocks(budget, safetyBlocks);
}

/**
 * The `profiling/generation_finished_safely` gauge: `blocksRemaining > ceil(upload / bt)`.
 *
 * @param budget Current budget.
 * @param remainingBlocks Blocks left when generation ended.
 * @returns Whether the upload is expected to fit.
 *
 * @example
 * ```ts
 * import { generationFinishedSafely, initialMinerTimeBudget } from "./windows.ts";
 * const b = initialMinerTimeBudget();
 * if (!generationFinishedSafely(b, 2) || generationFinishedSafely(b, 1)) throw new Error("unexpected");
 * ```
 */
export function generationFinishedSafely(
  budget: MinerTimeBudget,
  remainingBlocks: number,
): boolean {
  const bt = budget.blockTimeSeconds;
  return remainingBlocks > Math.ceil((budget.uploadSeconds ?? bt) / bt);
}

/**
 * Weight-submission interval index of a head block: `floor(head / 360)`.
 *
 * @param head Best block.
 * @returns Interval index; the validator submits when it increases.
 *
 * @example
 * ```ts
 * import { weightInterval } from "./windows.ts";
 * if (weightInterval(719) !== 1 || weightInterval(720) !== 2) throw new Error("unexpected");
 * ```
 */
export function weightInterval(head: number): number {
  requireBlock("head", head);
  return Math.floor(head / WEIGHT_SUBMISSION_INTERVAL_BLOCKS);
}
