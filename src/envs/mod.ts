/**
 * Environments: the environment interface, the 3-SAT environment, thinking-mode tags and
 * prompt rendering, tag parsing and shared reward components (envs spec §1–§3.1).
 *
 * @example The SAT problem a protocol seed gives
 * ```ts
 * import { satProblem } from "./mod.ts";
 * const p = satProblem(1319947729);
 * if (p.numVars !== 7 || !p.prompt.startsWith("SAT Problem:\n")) throw new Error();
 * ```
 *
 * @module
 */

export * from "./environment.ts";
export * from "./thinking.ts";
export * from "./tag_parser.ts";
export * from "./reward_components.ts";
export * from "./sat.ts";
export * from "./echo_digit.ts";
export * from "./registry.ts";
