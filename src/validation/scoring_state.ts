/**
 * The validator's scoring state across windows (protocol spec §5.2 and §6): availability and
 * selection over the last 12 processed windows, failures over the last 14, per-window metrics,
 * and the weight-submission cadence (once per 360-block interval, after 12 processed windows).
 *
 * @module
 */

import {
  FAILURE_LOOKBACK_WINDOWS,
  WEIGHT_ROLLING_WINDOWS,
  WEIGHT_SUBMISSION_INTERVAL_BLOCKS,
  WINDOW_LENGTH,
} from "./constants.ts";
import type { MinerWindowMetrics } from "./aggregation.ts";
import { selectMinersForValidation } from "./miner_sampling.ts";
import { RollingCounts } from "./rolling_counts.ts";
import { computeWeights, type WeightOptions, type WeightResult } from "./weights.ts";

/**
 * Scoring state of one validator process: call {@linkcode ScoringState.beginWindow} and
 * {@linkcode ScoringState.endWindow} once per processed window, then ask for weights.
 *
 * @example A miner whose window file was invalid is not sampled again
 * ```ts
 * import { ScoringState } from "./scoring_state.ts";
 * import { invalidFileMetrics } from "./aggregation.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const state = new ScoringState();
 * deepStrictEqual(state.beginWindow(["a"], "0x00"), ["a"]);
 * state.endWindow(30, new Map([["a", invalidFileMetrics("duplicate_nonce")]]));
 * deepStrictEqual(state.beginWindow(["a"], "0x01"), []);
 * ```
 */
export class ScoringState {
  readonly #availability = new RollingCounts(WEIGHT_ROLLING_WINDOWS);
  readonly #selection = new RollingCounts(WEIGHT_ROLLING_WINDOWS);
  readonly #failures = new RollingCounts(FAILURE_LOOKBACK_WINDOWS);
  readonly #metrics = new Map<string, Map<number, MinerWindowMetrics>>();
  #windowsProcessed = 0;
  #lastWeightsInterval = -1;

  /**
   * Starts a window: records the active miners, and returns the miners to validate (eligible =
   * no failure in the last 14 windows; then sampled as the reference does).
   *
   * @param active Miners whose window file exists, is large enough and was on time.
   * @param windowHash The target window's block hash (tie-break).
   * @returns The hotkeys to validate, recorded as this window's selection.
   *
   * @example
   * ```ts
   * import { ScoringState } from "./scoring_state.ts";
   * const s = new ScoringState();
   * if (s.beginWindow(["a", "b", "c"], "0x00").length !== 2) throw new Error();
   * ```
   */
  beginWindow(active: readonly string[], windowHash: string): string[] {
    this.#availability.push(active);
    const eligible = active.filter((hk) => this.#failures.count(hk) === 0);
    const chosen = selectMinersForValidation(eligible, windowHash, this.#selection.counts());
    this.#selection.push(chosen);
    return chosen;
  }

  /**
   * Ends a window: stores each validated miner's metrics (after copycat gating) and records
   * failures.
   *
   * @param targetWindow The window start.
   * @param metrics hotkey → metrics.
   *
   * @example
   * ```ts
   * import { ScoringState } from "./scoring_state.ts";
   * import { invalidFileMetrics } from "./aggregation.ts";
   * const s = new ScoringState();
   * s.beginWindow(["a"], "0x00");
   * s.endWindow(30, new Map([["a", invalidFileMetrics("corrupt_parquet")]]));
   * if (s.beginWindow(["a"], "0x01").length !== 0) throw new Error("a is excluded");
   * ```
   */
  endWindow(targetWindow: number, metrics: ReadonlyMap<string, MinerWindowMetrics>): void {
    for (const [hk, m] of metrics) {
      let perWindow = this.#metrics.get(hk);
      if (!perWindow) this.#metrics.set(hk, perWindow = new Map());
      perWindow.set(targetWindow, m);
      // Older windows never count again (failures look back 14 windows, scores 12).
      const oldest = targetWindow - FAILURE_LOOKBACK_WINDOWS * WINDOW_LENGTH;
      for (const w of perWindow.keys()) if (w < oldest) perWindow.delete(w);
    }
    const failed = [...metrics].filter(([, m]) => m.had_failure > 0).map(([hk]) => hk);
    this.#failures.push(failed);
    this.#windowsProcessed++;
  }

  /**
   * Whether weights are due at `currentBlock`: a new 360-block interval has begun and at
   * least 12 windows were processed. A due-but-too-early interval is consumed, as in the
   * reference.
   *
   * @param currentBlock The chain's current block.
   * @returns True when the caller should compute and submit weights now.
   *
   * @example
   * ```ts
   * import { ScoringState } from "./scoring_state.ts";
   * if (new ScoringState().weightsDue(3600)) throw new Error("no windows processed yet");
   * ```
   */
  weightsDue(currentBlock: number): boolean {
    const interval = Math.floor(currentBlock / WEIGHT_SUBMISSION_INTERVAL_BLOCKS);
    if (interval <= this.#lastWeightsInterval) return false;
    this.#lastWeightsInterval = interval;
    return this.#windowsProcessed >= WEIGHT_ROLLING_WINDOWS;
  }

  /**
   * The weights over the rolling windows ending at `targetWindow`.
   *
   * @param hotkeys Metagraph hotkeys.
   * @param uids Metagraph uids.
   * @param targetWindow The last processed window.
   * @param options Scoring parameters.
   * @returns Weights aligned with the metagraph.
   * @throws {RangeError} See {@linkcode computeWeights}.
   *
   * @example
   * ```ts
   * import { ScoringState } from "./scoring_state.ts";
   * const w = new ScoringState().weights(["owner"], [0], 3600);
   * if (w.weights[0] !== 1) throw new Error();
   * ```
   */
  weights(
    hotkeys: readonly string[],
    uids: readonly number[],
    targetWindow: number,
    options?: WeightOptions,
  ): WeightResult {
    return computeWeights({
      hotkeys,
      uids,
      inferenceCounts: this.#metrics,
      targetWindow,
      availability: this.#availability.counts(),
    }, options);
  }
}
