/**
 * `grail validate`: the long-running validator against a live or local subnet
 * (src/roles/validator.ts).
 *
 * @module
 */

import { loadRoleConfig, ROLE_FLAGS_USAGE } from "../roles/config.ts";
import { launchRole } from "../roles/launch.ts";

const USAGE = `Usage: grail validate [options]

Validates every completed window: finds miners' files through their bucket commitments, checks
deadlines, verifies sampled rollouts, scores over rolling windows and sets weights every 360
blocks.

  --mode strict|compat    verification rules (GRAIL_VERIFY_MODE; default compat, the live v5 rules)
  --test-mode             validate only this hotkey's own file
${ROLE_FLAGS_USAGE}`;

/**
 * Runs `grail validate`.
 *
 * @param args Arguments after `validate`.
 * @returns Exit code: 0 after a graceful stop, 1 on failure, 2 for bad arguments.
 *
 * @example
 * ```ts
 * import { main } from "./validate.ts";
 * if (await main(["--mode", "lenient"]) !== 2) throw new Error();
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let config;
  try {
    config = await loadRoleConfig("validator", args, Deno.env.toObject());
  } catch (e) {
    console.error(`grail validate: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if ("help" in config) {
    console.log(USAGE);
    return 0;
  }
  return await launchRole(config);
}
