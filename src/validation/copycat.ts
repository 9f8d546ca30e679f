/**
 * Copycat detection (protocol spec §5.11): completions are hashed; for each pair of miners the
 * overlap Σ min(countᵃ, countᵇ) over shared digests, divided by the smaller miner's rollout
 * count, must stay below 5 % per window and 3 % over the weight interval. The later uploader
 * (object-store `LastModified`) of a violating pair is gated; with unknown or equal upload
 * times nobody is.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { COPYCAT_INTERVAL_THRESHOLD, COPYCAT_WINDOW_THRESHOLD } from "./constants.ts";

/**
 * The completion digest: sha256 of Python's `json.dumps(tokens[prompt_length:],
 * separators=(",", ":"))`, i.e. `[1,2,3]`, as lowercase hex.
 *
 * @param tokens The full sequence.
 * @param promptLength `prompt_length` (Python slicing: negative counts from the end).
 * @returns 64 hex characters.
 *
 * @example
 * ```ts
 * import { completionDigest } from "./copycat.ts";
 * // sha256("[3,4]")
 * if (completionDigest([1, 2, 3, 4], 2) !== completionDigest([9, 3, 4], 1)) throw new Error();
 * ```
 */
export function completionDigest(
  tokens: readonly (number | bigint)[],
  promptLength: number,
): string {
  const start = promptLength < 0 ? Math.max(0, tokens.length + promptLength) : promptLength;
  const text = "[" + tokens.slice(start).map(String).join(",") + "]";
  const d = sha256(new TextEncoder().encode(text));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Digest multiplicities over all rows of a file (the reference's `digest_counter`).
 *
 * @param rows `(tokens, prompt_length)` of every row; rows with no tokens are skipped.
 * @returns Digest → count, in first-seen order.
 *
 * @example
 * ```ts
 * import { completionDigestCounts } from "./copycat.ts";
 * const c = completionDigestCounts([{ tokens: [1, 2], promptLength: 1 }, { tokens: [5, 2], promptLength: 1 }]);
 * if (c.size !== 1 || [...c.values()][0] !== 2) throw new Error();
 * ```
 */
export function completionDigestCounts(
  rows: readonly { tokens: readonly (number | bigint)[]; promptLength: number }[],
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (r.tokens.length === 0) continue;
    const d = completionDigest(r.tokens, r.promptLength);
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  return counts;
}

/** One miner's copycat inputs for a window. */
export interface CopycatSubmission {
  /** Completion digest → count over all rows of its file. */
  digestCounts: ReadonlyMap<string, number>;
  /** Rows in its file (the ratio's denominator). */
  totalRollouts: number;
  /** Object-store `LastModified` of its file (seconds); null when unknown. Never miner-supplied. */
  uploadTime: number | null;
}

/** A pair at or above a threshold. */
export interface CopycatViolation {
  /** One miner (lexicographically first). */
  minerA: string;
  /** The other miner. */
  minerB: string;
  /** Σ min(count) over shared digests. */
  shared: number;
  /** min(total rollouts). */
  denominator: number;
  /** shared / denominator. */
  ratio: number;
  /** The threshold crossed. */
  threshold: number;
  /** Window or interval scope. */
  scope: "window" | "interval";
  /** The window. */
  windowStart: number;
  /** The later uploader, when resolvable. */
  copier: string | null;
  /** The earlier uploader, when resolvable. */
  victim: string | null;
}

/** Outcome of one window. */
export interface CopycatWindowResult {
  /** Copiers flagged by the window scope. */
  windowCheaters: Set<string>;
  /** Copiers flagged by the interval scope. */
  intervalCheaters: Set<string>;
  /** Every violating pair (window scope first), gated or not. */
  violations: CopycatViolation[];
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

/**
 * Window and interval overlap tracking. Call {@linkcode CopycatTracker.resetInterval} with
 * `target // 360` each window (it only resets when the id changes), then
 * {@linkcode CopycatTracker.ingestWindow} with the miners that passed validation.
 *
 * @example A copied file is gated, its source is not
 * ```ts
 * import { CopycatTracker } from "./copycat.ts";
 * const t = new CopycatTracker();
 * t.resetInterval(10);
 * const digests = new Map([["d1", 16]]);
 * const r = t.ingestWindow(3600, new Map([
 *   ["orig", { digestCounts: digests, totalRollouts: 16, uploadTime: 100 }],
 *   ["copy", { digestCounts: digests, totalRollouts: 16, uploadTime: 101 }],
 * ]));
 * if (!r.windowCheaters.has("copy") || r.windowCheaters.has("orig")) throw new Error();
 * ```
 */
export class CopycatTracker {
  #intervalId: number | null = null;
  #intervalOverlap = new Map<string, number>();
  #intervalTotals = new Map<string, number>();
  #intervalUploads = new Map<string, number>();

  /**
   * Starts a new interval when `intervalId` differs from the current one.
   *
   * @param intervalId Monotonic interval id (`target_window // 360`).
   */
  resetInterval(intervalId: number): void {
    if (this.#intervalId === intervalId) return;
    this.#intervalId = intervalId;
    this.#intervalOverlap.clear();
    this.#intervalTotals.clear();
    this.#intervalUploads.clear();
  }

  /**
   * Adds a window's submissions and finds the copiers at both scopes.
   *
   * @param windowStart The window.
   * @param submissions Hotkey → its digest counts, row total and upload time.
   * @returns Cheaters per scope and all violations.
   */
  ingestWindow(
    windowStart: number,
    submissions: ReadonlyMap<string, CopycatSubmission>,
  ): CopycatWindowResult {
    const windowOverlap = new Map<string, number>();
    const windowTotals = new Map<string, number>();
    const uploads = new Map<string, number>();
    const byDigest = new Map<string, [string, number][]>();
    for (const [miner, s] of submissions) {
      windowTotals.set(miner, s.totalRollouts);
      if (s.uploadTime !== null) uploads.set(miner, s.uploadTime);
      for (const [digest, count] of s.digestCounts) {
        const list = byDigest.get(digest);
        if (list) list.push([miner, count]);
        else byDigest.set(digest, [[miner, count]]);
      }
    }
    for (const miners of byDigest.values()) {
      for (let i = 0; i < miners.length; i++) {
        for (let j = i + 1; j < miners.length; j++) {
          const overlap = Math.min(miners[i][1], miners[j][1]);
          if (overlap <= 0) continue;
          const key = pairKey(miners[i][0], miners[j][0]);
          windowOverlap.set(key, (windowOverlap.get(key) ?? 0) + overlap);
          this.#intervalOverlap.set(key, (this.#intervalOverlap.get(key) ?? 0) + overlap);
        }
      }
    }
    for (const [miner, s] of submissions) {
      this.#intervalTotals.set(miner, (this.#intervalTotals.get(miner) ?? 0) + s.totalRollouts);
      if (s.uploadTime !== null) this.#intervalUploads.set(miner, s.uploadTime);
    }
    const w = findCheaters(
      windowOverlap,
      windowTotals,
      COPYCAT_WINDOW_THRESHOLD,
      "window",
      windowStart,
      uploads,
    );
    const iv = findCheaters(
      this.#intervalOverlap,
      this.#intervalTotals,
      COPYCAT_INTERVAL_THRESHOLD,
      "interval",
      windowStart,
      this.#intervalUploads,
    );
    return {
      windowCheaters: w.cheaters,
      intervalCheaters: iv.cheaters,
      violations: [...w.violations, ...iv.violations],
    };
  }
}

function findCheaters(
  overlap: ReadonlyMap<string, number>,
  totals: ReadonlyMap<string, number>,
  threshold: number,
  scope: "window" | "interval",
  windowStart: number,
  uploads: ReadonlyMap<string, number>,
): { cheaters: Set<string>; violations: CopycatViolation[] } {
  const cheaters = new Set<string>();
  const violations: CopycatViolation[] = [];
  for (const [key, shared] of overlap) {
    if (shared <= 0) continue;
    const [minerA, minerB] = key.split("\u0000");
    const denominator = Math.min(totals.get(minerA) ?? 0, totals.get(minerB) ?? 0);
    if (denominator <= 0) continue;
    const ratio = shared / denominator;
    if (ratio < threshold) continue;
    const ta = uploads.get(minerA);
    const tb = uploads.get(minerB);
    let copier: string | null = null;
    let victim: string | null = null;
    if (ta !== undefined && tb !== undefined && ta !== tb) {
      [copier, victim] = ta > tb ? [minerA, minerB] : [minerB, minerA];
      cheaters.add(copier);
    }
    violations.push({
      minerA,
      minerB,
      shared,
      denominator,
      ratio,
      threshold,
      scope,
      windowStart,
      copier,
      victim,
    });
  }
  return { cheaters, violations };
}
