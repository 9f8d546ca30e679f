/**
 * Validator checks that need no model, miner and rollout sampling, per-miner aggregation,
 * copycat detection, scoring and weights (protocol spec §5–§6), as pure functions.
 *
 * @example GRPO advantages of a group
 * ```ts
 * import { computeAdvantages } from "./mod.ts";
 * if (computeAdvantages([1, 0])[0] !== 1) throw new Error();
 * ```
 *
 * @module
 */

export * from "./constants.ts";
export * from "./advantages.ts";
export * from "./schema_check.ts";
export * from "./tokens_check.ts";
export * from "./termination_check.ts";
export * from "./reward_check.ts";
export * from "./logprob_check.ts";
export * from "./distribution_check.ts";
export * from "./softmax.ts";
export * from "./group_checks.ts";
export * from "./file_structure_check.ts";
export * from "./copycat.ts";
export * from "./miner_sampling.ts";
export * from "./rollout_selection.ts";
export * from "./aggregation.ts";
export * from "./weights.ts";
export * from "./rolling_counts.ts";
export * from "./scoring_state.ts";
