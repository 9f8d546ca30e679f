/**
 * Environment lookup by the `env_id` a checkpoint's metadata names (envs spec §1.5). Only the
 * procedural `sat` environment is implemented; the dataset, code and kernel environments need
 * shipped dataset snapshots or a Python/GPU sandbox and are refused with a clear error.
 *
 * @module
 */

import type { Environment } from "./environment.ts";
import { EnvError } from "./environment.ts";
import { SatEnvironment } from "./sat.ts";
import { thinkingConfig } from "./thinking.ts";

/** Environment ids this package implements. */
export const KNOWN_ENV_IDS: readonly string[] = Object.freeze(["sat"]);

/** Reference env ids that exist upstream but are not implemented here. */
const UNIMPLEMENTED: Readonly<Record<string, string>> = {
  gsm8k: "needs the openai/gsm8k snapshot",
  math: "needs the hendrycks_math snapshot and sympy",
  mbpp: "needs the MBPP snapshot and a Python sandbox",
  python_code: "needs the MBPP snapshot and a Python sandbox",
  humaneval: "needs the HumanEval snapshot and a Python sandbox",
  triton_kernel: "needs KernelBench, torch, Triton and a CUDA GPU",
};

/**
 * The environment for an env id, with the thinking mode's tags.
 *
 * @param envId The checkpoint metadata's `env_id`.
 * @param thinkingMode The checkpoint's `thinking_mode` (default `"instructed"`).
 * @returns The environment.
 * @throws {EnvError} `unknown_env` for an id that is not implemented; `invalid_option` for a
 *   bad thinking mode.
 *
 * @example
 * ```ts
 * import { getEnvironment } from "./registry.ts";
 * if (getEnvironment("sat").id !== "sat") throw new Error();
 * ```
 */
export function getEnvironment(envId: string, thinkingMode: string = "instructed"): Environment {
  const thinking = thinkingConfig(thinkingMode);
  if (envId === "sat") return new SatEnvironment(thinking) as Environment;
  const why = UNIMPLEMENTED[envId];
  throw new EnvError(
    "unknown_env",
    why === undefined
      ? `No environment named ${JSON.stringify(envId.slice(0, 60))}; known: ${
        KNOWN_ENV_IDS.join(", ")
      }`
      : `Environment ${JSON.stringify(envId)} is not implemented (${why}); known: ${
        KNOWN_ENV_IDS.join(", ")
      }`,
  );
}
