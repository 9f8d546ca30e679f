/**
 * Membership counts over the last N processed windows (the reference's `_update_rolling` over a
 * bounded deque): availability and selection over 12 windows, failures over 14.
 *
 * @module
 */

/**
 * Counts, per hotkey, how many of the last `horizon` windows included it.
 *
 * @example
 * ```ts
 * import { RollingCounts } from "./rolling_counts.ts";
 * const r = new RollingCounts(2);
 * r.push(["a"]);
 * r.push(["a", "b"]);
 * r.push(["b"]);
 * if (r.count("a") !== 1 || r.count("b") !== 2) throw new Error();
 * ```
 */
export class RollingCounts {
  readonly #horizon: number;
  readonly #history: Set<string>[] = [];
  readonly #counts = new Map<string, number>();

  /**
   * Creates empty counts.
   *
   * @param horizon Windows remembered (≥ 1).
   * @throws {RangeError} If `horizon` is not a positive integer.
   */
  constructor(horizon: number) {
    if (!Number.isInteger(horizon) || horizon < 1) {
      throw new RangeError(`Rolling horizon must be a positive integer, got ${horizon}`);
    }
    this.#horizon = horizon;
  }

  /**
   * Adds one window's set, forgetting the oldest window once the horizon is full.
   *
   * @param members Hotkeys in this window's set (duplicates count once).
   */
  push(members: Iterable<string>): void {
    if (this.#history.length === this.#horizon) {
      for (const hk of this.#history.shift()!) {
        this.#counts.set(hk, Math.max(0, (this.#counts.get(hk) ?? 0) - 1));
      }
    }
    const set = new Set(members);
    this.#history.push(set);
    for (const hk of set) this.#counts.set(hk, (this.#counts.get(hk) ?? 0) + 1);
  }

  /**
   * Windows among the remembered ones that included `hotkey`.
   *
   * @param hotkey The hotkey.
   * @returns The count (0 if never seen).
   */
  count(hotkey: string): number {
    return this.#counts.get(hotkey) ?? 0;
  }

  /**
   * All counts, as a map.
   *
   * @returns hotkey → count (hotkeys that dropped to 0 stay with 0, as in the reference).
   */
  counts(): Map<string, number> {
    return new Map(this.#counts);
  }
}
