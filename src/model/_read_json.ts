/**
 * Reading one JSON file of a checkpoint folder with the model area's errors.
 *
 * @module
 */

import { join } from "node:path";
import { CheckpointError } from "./errors.ts";

/**
 * Reads and parses `dir/name`.
 *
 * @param dir The checkpoint folder.
 * @param name The file inside it.
 * @param missing What the caller could not do and what to do about it, for the `not_found`
 *   message: `${missing.action}: no ${name} in ${dir}; ${missing.fix}`.
 * @returns The parsed JSON value.
 * @throws {CheckpointError} `not_found` when the file is absent, `io` when it cannot be read,
 *   `bad_config` when it is not JSON.
 */
export async function readCheckpointJson(
  dir: string,
  name: string,
  missing: { action: string; fix: string },
): Promise<unknown> {
  const path = join(dir, name);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new CheckpointError(
        "not_found",
        `${missing.action}: no ${name} in ${dir}; ${missing.fix}`,
        { cause },
      );
    }
    throw new CheckpointError("io", `Cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CheckpointError(
      "bad_config",
      `Invalid JSON in ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
}
