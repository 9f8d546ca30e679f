/**
 * A live status line for terminals: on a TTY the last line of stdout is a status that is
 * rewritten in place (and cleared before any ordinary line); elsewhere statuses are printed as
 * plain lines, only when they change and at most once per `minIntervalMs`, so logs stay short.
 *
 * @module
 */

/** Options of {@linkcode Progress}. */
export interface ProgressOptions {
  /** Whether stdout is a terminal (`Deno.stdout.isTerminal()`). */
  tty: boolean;
  /** Writes raw text to stdout (default `Deno.stdout.writeSync`). */
  write?: (text: string) => void;
  /** Writes a line to stderr (default `console.error`). */
  writeErr?: (line: string) => void;
  /** Milliseconds since the epoch (default `Date.now`). */
  nowMs?: () => number;
  /** Least time between two plain status lines (default 10 s). */
  minIntervalMs?: number;
}

/** The status line. */
export class Progress {
  readonly #o: Required<ProgressOptions>;
  #shown = false;
  #last = "";
  #lastMs = -Infinity;

  /**
   * Creates the status line.
   *
   * @param options TTY or not, and sinks.
   */
  constructor(options: ProgressOptions) {
    const enc = new TextEncoder();
    this.#o = {
      write: (t) => Deno.stdout.writeSync(enc.encode(t)),
      writeErr: (l) => console.error(l),
      nowMs: Date.now,
      minIntervalMs: 10_000,
      ...options,
    };
  }

  /**
   * Shows a status.
   *
   * @param text One line.
   *
   * @example
   * ```ts
   * import { Progress } from "./progress.ts";
   * let out = "";
   * const p = new Progress({ tty: true, write: (t) => (out += t) });
   * p.status("mining");
   * p.print("done");
   * if (out !== "\r\x1b[2Kmining\r\x1b[2Kdone\n") throw new Error(JSON.stringify(out));
   * ```
   */
  status(text: string): void {
    const line = text.replaceAll("\n", " ");
    if (this.#o.tty) {
      const cols = (() => {
        try {
          return Deno.consoleSize().columns;
        } catch {
          return 120;
        }
      })();
      this.#o.write(`\r\x1b[2K${line.slice(0, Math.max(10, cols - 1))}`);
      this.#shown = true;
      return;
    }
    const now = this.#o.nowMs();
    if (line === this.#last || now - this.#lastMs < this.#o.minIntervalMs) return;
    this.#last = line;
    this.#lastMs = now;
    this.#o.write(`… ${line}\n`);
  }

  /** Removes the status line (TTY only). */
  clear(): void {
    if (this.#o.tty && this.#shown) this.#o.write("\r\x1b[2K");
    this.#shown = false;
  }

  /**
   * Prints an ordinary stdout line above the status.
   *
   * @param line The text.
   */
  print(line: string): void {
    this.clear();
    this.#o.write(line + "\n");
  }

  /**
   * Prints a line on stderr, clearing the status first.
   *
   * @param line The text.
   */
  printErr(line: string): void {
    this.clear();
    this.#o.writeErr(line);
  }
}
