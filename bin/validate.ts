/**
 * Entry point of the validator: `deno run -A bin/validate.ts [options]` (same as
 * `grail validate`).
 *
 * @module
 */

import { main } from "../src/cli/validate.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
