/**
 * The roles' logger: human lines `YYYY-MM-DD HH:MM:SS LEVEL [logger] message` (infra spec §6.2,
 * UTC) and structured events, one compact JSON object as the message of a line from the spec's
 * logger names (`grail.validator.verdict`, `grail.leaderboard`, …), which dashboards parse.
 *
 * Secrets registered with {@linkcode Logger.addSecret} are replaced by `***` in every line, so a
 * key that leaks into an error message is still never written.
 *
 * @module
 */

/** Levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warning" | "error";

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = {
  debug: 10,
  info: 20,
  warning: 30,
  error: 40,
};
const LEVEL_NAME: Readonly<Record<LogLevel, string>> = {
  debug: "DEBUG",
  info: "INFO",
  warning: "WARNING",
  error: "ERROR",
};

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** Logger name, e.g. `grail.miner`. */
  name: string;
  /** Least severe level written (default `info`); `"silent"` writes nothing. */
  level?: LogLevel | "silent";
  /** Where lines go (default `console.error`, keeping stdout for the progress view and tables). */
  write?: (line: string) => void;
  /** Milliseconds since the epoch (default `Date.now`). */
  nowMs?: () => number;
}

interface Shared {
  level: LogLevel | "silent";
  write: (line: string) => void;
  nowMs: () => number;
  secrets: Set<string>;
}

/**
 * Formats a timestamp as the reference's `%Y-%m-%d %H:%M:%S` (UTC).
 *
 * @param ms Milliseconds since the epoch.
 * @returns E.g. `2026-11-25 20:41:07`.
 *
 * @example
 * ```ts
 * import { formatLogTime } from "./logger.ts";
 * if (formatLogTime(0) !== "1970-01-01 00:00:00") throw new Error();
 * ```
 */
export function formatLogTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** A named logger; children share level, sink and secrets. */
export class Logger {
  /** The logger name. */
  readonly name: string;
  readonly #shared: Shared;

  /**
   * Creates a root logger (children come from {@linkcode Logger.child}).
   *
   * @param options Name, level, sink and clock.
   * @param shared Internal: the settings a child shares with its parent.
   */
  constructor(options: LoggerOptions, shared?: unknown) {
    this.name = options.name;
    this.#shared = (shared as Shared | undefined) ?? {
      level: options.level ?? "info",
      write: options.write ?? ((line) => console.error(line)),
      nowMs: options.nowMs ?? Date.now,
      secrets: new Set(),
    };
  }

  /**
   * A logger with another name sharing this one's settings.
   *
   * @param name The child's full name, e.g. `grail.validator.verdict`.
   * @returns The child.
   *
   * @example
   * ```ts
   * import { Logger } from "./logger.ts";
   * const lines: string[] = [];
   * new Logger({ name: "grail", write: (l) => lines.push(l) }).child("grail.miner").info("hi");
   * if (!lines[0].endsWith("INFO [grail.miner] hi")) throw new Error(lines[0]);
   * ```
   */
  child(name: string): Logger {
    return new Logger({ name }, this.#shared);
  }

  /**
   * Registers a secret: it is replaced by `***` wherever it would appear. Values shorter than 6
   * characters are ignored (they would mask ordinary words).
   *
   * @param value The secret.
   *
   * @example
   * ```ts
   * import { Logger } from "./logger.ts";
   * const lines: string[] = [];
   * const log = new Logger({ name: "x", write: (l) => lines.push(l) });
   * log.addSecret("s3cr3t-key");
   * log.warning("auth failed for s3cr3t-key");
   * if (lines[0].includes("s3cr3t")) throw new Error();
   * ```
   */
  addSecret(value: string | undefined): void {
    if (value !== undefined && value.length >= 6) this.#shared.secrets.add(value);
  }

  /** Whether `level` would be written. @param level The level. @returns True if enabled. */
  enabled(level: LogLevel): boolean {
    const min = this.#shared.level;
    return min !== "silent" && LEVEL_RANK[level] >= LEVEL_RANK[min];
  }

  /** Writes a DEBUG line. @param message The text. */
  debug(message: string): void {
    this.#log("debug", message);
  }
  /** Writes an INFO line. @param message The text. */
  info(message: string): void {
    this.#log("info", message);
  }
  /** Writes a WARNING line. @param message The text. */
  warning(message: string): void {
    this.#log("warning", message);
  }
  /** Writes an ERROR line. @param message The text. */
  error(message: string): void {
    this.#log("error", message);
  }

  /**
   * Writes a structured event: an INFO line whose message is compact JSON, `event` first.
   * Non-finite numbers become null (the reference's sanitiser does the same).
   *
   * @param event The `event` key, e.g. `verdict`.
   * @param fields The other keys, in the spec's order.
   *
   * @example
   * ```ts
   * import { Logger } from "./logger.ts";
   * const lines: string[] = [];
   * new Logger({ name: "grail.validator.verdict", write: (l) => lines.push(l) })
   *   .event("verdict", { window: 30, uid: 2, success_rate: NaN });
   * if (!lines[0].endsWith('{"event":"verdict","window":30,"uid":2,"success_rate":null}')) {
   *   throw new Error(lines[0]);
   * }
   * ```
   */
  event(event: string, fields: Record<string, unknown>): void {
    const body = JSON.stringify(
      { event, ...fields },
      (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
    );
    this.#log("info", body);
  }

  #log(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    let text = message;
    for (const s of this.#shared.secrets) text = text.replaceAll(s, "***");
    this.#shared.write(
      `${formatLogTime(this.#shared.nowMs())} ${LEVEL_NAME[level]} [${this.name}] ${text}`,
    );
  }
}
