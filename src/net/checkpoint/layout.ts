/**
 * Where checkpoints live in the trainer's bucket and which one a window uses (infra spec §4.2,
 * §4.6): `grail/checkpoints/checkpoint-{W}/{FULL,DELTA}/…` plus zero-byte `READY-{R}` markers,
 * R being the window in which the upload finished.
 *
 * @module
 */

/** Prefix of every checkpoint key. */
export const CHECKPOINT_PREFIX = "grail/checkpoints/";

/** A checkpoint that has a READY marker. */
export interface ReadyCheckpoint {
  /** Checkpoint window W (`checkpoint-{W}`). */
  window: number;
  /** Ready window R (`READY-{R}`). */
  readyWindow: number;
}

function checkWindow(w: number, what: string): void {
  if (!Number.isSafeInteger(w) || w < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${w}`);
  }
}

/**
 * Prefix of one checkpoint's keys.
 *
 * @param window Checkpoint window W.
 * @returns `grail/checkpoints/checkpoint-{W}/`.
 * @throws {RangeError} A negative or non-integer window.
 *
 * @example
 * ```ts
 * import { checkpointPrefix } from "./layout.ts";
 * if (checkpointPrefix(300) !== "grail/checkpoints/checkpoint-300/") throw new Error();
 * ```
 */
export function checkpointPrefix(window: number): string {
  checkWindow(window, "Checkpoint window");
  return `${CHECKPOINT_PREFIX}checkpoint-${window}/`;
}

/**
 * Prefix of a checkpoint's FULL or DELTA files.
 *
 * @param window Checkpoint window W.
 * @param type `FULL` or `DELTA`.
 * @returns `grail/checkpoints/checkpoint-{W}/{type}/`.
 * @throws {RangeError} A negative or non-integer window.
 */
export function checkpointTypePrefix(window: number, type: "FULL" | "DELTA"): string {
  return `${checkpointPrefix(window)}${type}/`;
}

/**
 * Key of a READY marker.
 *
 * @param window Checkpoint window W.
 * @param readyWindow Window in which the upload finished.
 * @returns `grail/checkpoints/checkpoint-{W}/READY-{R}`.
 * @throws {RangeError} A negative or non-integer window.
 *
 * @example
 * ```ts
 * import { readyKey } from "./layout.ts";
 * if (readyKey(300, 330) !== "grail/checkpoints/checkpoint-300/READY-330") throw new Error();
 * ```
 */
export function readyKey(window: number, readyWindow: number): string {
  checkWindow(readyWindow, "Ready window");
  return `${checkpointPrefix(window)}READY-${readyWindow}`;
}

// Python int() of the text after the first "-" (the reference splits on "-" and takes [1]).
function windowAfterDash(segment: string): number | null {
  const text = segment.split("-")[1];
  if (text === undefined || !/^[0-9]+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Parses a READY marker key as the reference does (4th path segment `READY-{R}` under
 * `checkpoint-{W}`); anything else gives null.
 *
 * @param key An object key.
 * @returns The checkpoint and ready windows, or null.
 *
 * @example
 * ```ts
 * import { parseReadyKey } from "./layout.ts";
 * const r = parseReadyKey("grail/checkpoints/checkpoint-1000/READY-1100");
 * if (r?.window !== 1000 || r.readyWindow !== 1100) throw new Error();
 * if (parseReadyKey("grail/checkpoints/checkpoint-1000/FULL/READY-1") !== null) throw new Error();
 * ```
 */
export function parseReadyKey(key: string): ReadyCheckpoint | null {
  if (!key.includes("/READY-")) return null;
  const parts = key.split("/");
  if (parts.length < 4 || !parts[2].startsWith("checkpoint-") || !parts[3].startsWith("READY-")) {
    return null;
  }
  const window = windowAfterDash(parts[2]);
  const readyWindow = windowAfterDash(parts[3]);
  if (window === null || readyWindow === null) return null;
  return { window, readyWindow };
}

/**
 * Which checkpoint a window uses: among READY markers with R < `beforeWindow`, the largest R,
 * ties broken by the largest W. Miners pass their window start, validators the target window.
 *
 * @param keys Every key under {@link CHECKPOINT_PREFIX}.
 * @param beforeWindow The window being mined or validated.
 * @returns The checkpoint, or null when none was ready before (never wait, never fall back).
 *
 * @example
 * ```ts
 * import { findCheckpointForWindow } from "./layout.ts";
 * const keys = ["grail/checkpoints/checkpoint-30/READY-60", "grail/checkpoints/checkpoint-60/READY-90"];
 * if (findCheckpointForWindow(keys, 90)?.window !== 30) throw new Error();
 * if (findCheckpointForWindow(keys, 60) !== null) throw new Error();
 * ```
 */
export function findCheckpointForWindow(
  keys: Iterable<string>,
  beforeWindow: number,
): ReadyCheckpoint | null {
  let best: ReadyCheckpoint | null = null;
  for (const key of keys) {
    const r = parseReadyKey(key);
    if (r === null || r.readyWindow >= beforeWindow) continue;
    if (
      best === null || r.readyWindow > best.readyWindow ||
      (r.readyWindow === best.readyWindow && r.window > best.window)
    ) best = r;
  }
  return best;
}

/** Checkpoint windows found in a listing, each newest first. */
export interface CheckpointInventory {
  /** Every `checkpoint-{W}` seen. */
  all: number[];
  /** Windows without any `DELTA/` key. */
  full: number[];
  /** Windows with a `DELTA/` key (a window with both counts as DELTA, as in the reference). */
  delta: number[];
}

/**
 * Classifies a listing as the reference's trainer cleanup does.
 *
 * @param keys Every key under {@link CHECKPOINT_PREFIX}.
 * @returns Windows, newest first.
 *
 * @example
 * ```ts
 * import { checkpointInventory } from "./layout.ts";
 * const inv = checkpointInventory([
 *   "grail/checkpoints/checkpoint-0/FULL/config.json",
 *   "grail/checkpoints/checkpoint-30/DELTA/DELTA",
 * ]);
 * if (inv.full.join() !== "0" || inv.delta.join() !== "30") throw new Error();
 * ```
 */
export function checkpointInventory(keys: Iterable<string>): CheckpointInventory {
  const all = new Set<number>();
  const delta = new Set<number>();
  for (const key of keys) {
    const parts = key.split("/");
    if (parts.length < 3 || !parts[2].startsWith("checkpoint-")) continue;
    // The reference takes everything after the first "-" here (split("-", 1)).
    const text = parts[2].slice("checkpoint-".length);
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) continue;
    const w = Number(text);
    all.add(w);
    if (parts.length >= 4 && parts[3] === "DELTA") delta.add(w);
  }
  const desc = (s: Iterable<number>) => [...s].sort((a, b) => b - a);
  return {
    all: desc(all),
    full: desc([...all].filter((w) => !delta.has(w))),
    delta: desc(delta),
  };
}
