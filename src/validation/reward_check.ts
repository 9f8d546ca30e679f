/**
 * The reward re-check (soft): the miner's claimed total reward must be close to the
 * environment's re-computed reward (protocol spec §5.6 #7).
 *
 * @module
 */

import { isClose } from "./_python_math.ts";
import { REWARD_ABS_TOL, REWARD_REL_TOL } from "./constants.ts";

/**
 * `math.isclose(claimed, recomputed, rel_tol=0.02, abs_tol=1e-6)`: false for NaN, true for
 * equal infinities.
 *
 * @param claimed The miner's `total_reward`.
 * @param recomputed The validator's environment reward.
 * @returns Whether the rewards agree.
 *
 * @example
 * ```ts
 * import { checkReward } from "./reward_check.ts";
 * if (!checkReward(1.0, 0.985) || checkReward(1.0, 0.0)) throw new Error();
 * ```
 */
export function checkReward(claimed: number, recomputed: number): boolean {
  return isClose(claimed, recomputed, REWARD_REL_TOL, REWARD_ABS_TOL);
}
