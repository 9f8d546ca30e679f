/**
 * `grail mine`: the long-running miner against a live or local subnet (src/roles/miner.ts).
 *
 * @module
 */

import { loadRoleConfig, ROLE_FLAGS_USAGE } from "../roles/config.ts";
import { launchRole } from "../roles/launch.ts";

const USAGE = `Usage: grail mine [options]

Mines every window: loads the trainer's checkpoint, generates GRPO groups with proofs while the
window's time budget allows, and uploads one window file to your bucket before the deadline.

  --max-groups N          most GRPO groups per window (default: as many as time allows)
${ROLE_FLAGS_USAGE}`;

/**
 * Runs `grail mine`.
 *
 * @param args Arguments after `mine`.
 * @returns Exit code: 0 after a graceful stop, 1 on failure, 2 for bad arguments.
 *
 * @example
 * ```ts
 * import { main } from "./mine.ts";
 * if (await main(["--netuid", "x"]) !== 2) throw new Error();
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let config;
  try {
    config = await loadRoleConfig("miner", args, Deno.env.toObject());
  } catch (e) {
    console.error(`grail mine: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if ("help" in config) {
    console.log(USAGE);
    return 0;
  }
  return await launchRole(config);
}
