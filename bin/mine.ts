/**
 * Entry point of the miner: `deno run -A bin/mine.ts [options]` (same as `grail mine`).
 *
 * @module
 */

import { main } from "../src/cli/mine.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
