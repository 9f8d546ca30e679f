/**
 * Per-role state on disk for resuming after a restart: one JSON file written atomically (temp
 * file in the same folder, fsync, rename), so a crash leaves the previous state or the new one,
 * never a torn file. The file carries a `version` and the role name; a mismatch is refused with
 * a message naming the file rather than silently starting over.
 *
 * @module
 */

import { dirname } from "node:path";

/** An atomic JSON state file. */
export class StateFile<T> {
  /** The file path. */
  readonly path: string;
  readonly #kind: string;
  readonly #version: number;

  /**
   * Names a state file; nothing is read or written yet.
   *
   * @param path File path (its folder is created on first save).
   * @param kind Role name stored in the file (`miner`, `validator`).
   * @param version Layout version of `T`.
   */
  constructor(path: string, kind: string, version = 1) {
    this.path = path;
    this.#kind = kind;
    this.#version = version;
  }

  /**
   * Reads the state.
   *
   * @returns The saved value, or null when no file exists.
   * @throws {TypeError} For a file that is not this role's state of this version.
   *
   * @example
   * ```ts
   * import { StateFile } from "./state.ts";
   * const dir = await Deno.makeTempDir();
   * const f = new StateFile<{ last: number }>(`${dir}/miner.json`, "miner");
   * if (await f.load() !== null) throw new Error();
   * await f.save({ last: 60 });
   * if ((await f.load())?.last !== 60) throw new Error();
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async load(): Promise<T | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    let parsed: { kind?: unknown; version?: unknown; state?: T };
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new TypeError(
        `Cannot read state file ${this.path}: not JSON (${
          (cause as Error).message
        }); move it away to start fresh`,
        { cause },
      );
    }
    if (
      parsed.kind !== this.#kind || parsed.version !== this.#version || parsed.state === undefined
    ) {
      throw new TypeError(
        `State file ${this.path} holds ${
          JSON.stringify(parsed.kind)
        } v${parsed.version}, expected ${
          JSON.stringify(this.#kind)
        } v${this.#version}; point --state-dir elsewhere or move the file away`,
      );
    }
    return parsed.state;
  }

  /**
   * Writes the state atomically.
   *
   * @param state The value (JSON-serialisable).
   */
  async save(state: T): Promise<void> {
    await Deno.mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${crypto.randomUUID()}.tmp`;
    const body = JSON.stringify({ kind: this.#kind, version: this.#version, state }, null, 1);
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    try {
      await file.write(new TextEncoder().encode(body + "\n"));
      await file.sync();
    } finally {
      file.close();
    }
    try {
      await Deno.rename(tmp, this.path);
    } catch (e) {
      await Deno.remove(tmp).catch(() => undefined);
      throw e;
    }
  }
}
