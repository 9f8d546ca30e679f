/**
 * Entry point of the trainer: `deno run -A bin/train.ts [options]` (same as `grail train`).
 *
 * @module
 */

import { main } from "../src/cli/train.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
