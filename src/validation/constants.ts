/**
 * Validator and scoring constants of the reference at 54d6342 (protocol spec §0, §5, §6).
 * Thresholds are consensus-relevant: a miner judged with other values would be scored
 * differently from the live subnet.
 *
 * @example
 * ```ts
 * import { LOGPROB_IS_EPS, ROLLOUTS_PER_PROBLEM } from "./constants.ts";
 * if (ROLLOUTS_PER_PROBLEM !== 16 || LOGPROB_IS_EPS !== 0.10) throw new Error();
 * ```
 *
 * @module
 */

/** GRPO group size (exact). */
export const ROLLOUTS_PER_PROBLEM = 16;
/** Challenged positions per rollout; also the minimum completion length. */
export const CHALLENGE_K = 32;
/** Hard upper bound on completion length. */
export const MAX_NEW_TOKENS_PROTOCOL_CAP = 8192;
/** Minimum P(EOS) at the position before a final EOS token. */
export const MIN_EOS_PROBABILITY = 0.02;
/** Reward re-check relative tolerance (`math.isclose` rel_tol). */
export const REWARD_REL_TOL = 0.02;
/** Reward re-check absolute tolerance (`math.isclose` abs_tol). */
export const REWARD_ABS_TOL = 1e-6;
/** Maximum median importance-sampling deviation `exp(|Δlp|) − 1` over the challenged positions. */
export const LOGPROB_IS_EPS = 0.10;
/** Fewer chosen-token probabilities than this fail the distribution check ("insufficient"). */
export const SAMPLING_MIN_STEPS = 30;
/** Probability at or below which a token counts as low (logged fraction only). */
export const SAMPLING_LOW_P = 0.10;
/** Probability at or above which a token counts as high (logged fraction only). */
export const SAMPLING_HIGH_P = 0.90;
/** Median at or below this is suspicious. */
export const SAMPLING_MEDIAN_LOW_MAX = 0.30;
/** 10 % quantile (whole completion or initial window) at or below this is suspicious. */
export const SAMPLING_LOW_Q10_MAX = 0.025;
/** A chosen token at or below this probability is suspicious. */
export const SAMPLING_MIN_TOKEN_PROB = 1e-5;
/** Length of the initial window checked separately for prefix exploits. */
export const SAMPLING_INITIAL_WINDOW_STEPS = 50;
/** |Σ advantages| of a group must not exceed this. */
export const GRPO_ADV_SUM_TOLERANCE = 0.01;
/** Each claimed advantage must be within this of the recomputed one. */
export const GRPO_ADV_MATCH_TOLERANCE = 1e-3;
/** A miner with at most this many rollouts has all of them checked. */
export const MAX_SAMPLES_PER_MINER_THRESHOLD = 20;
/** Rollouts checked per miner at most when sampling groups (64 / 16 = 4 groups). */
export const MAX_SAMPLES_PER_MINER = 64;
/** Fraction of a miner's GRPO groups spot-checked. */
export const GROUP_SAMPLE_RATE = 0.10;
/** Fraction of eligible miners validated per window. */
export const MINER_SAMPLE_RATE = 0.25;
/** Minimum miners validated per window. */
export const MINER_SAMPLE_MIN = 2;
/** Maximum miners validated per window. */
export const MINER_SAMPLE_MAX = 35;
/** Windows a failed miner stays excluded from sampling. */
export const FAILURE_LOOKBACK_WINDOWS = 14;
/** Windows in the scoring range (360 blocks / 30). */
export const WEIGHT_ROLLING_WINDOWS = 12;
/** Blocks per window. */
export const WINDOW_LENGTH = 30;
/** Blocks between weight submissions. */
export const WEIGHT_SUBMISSION_INTERVAL_BLOCKS = 360;
/** Unique rollouts per window that earn full score (cap × windows per period). */
export const UNIQUE_ROLLOUTS_CAP = 5000;
/** Score exponent. */
export const SUPERLINEAR_EXPONENT = 4.0;
/** UID that receives the burn. */
export const GRAIL_BURN_UID = 0;
/** Percentage of emission burned. */
export const GRAIL_BURN_PERCENTAGE = 90.0;
/** Per-window copycat overlap ratio that gates the later uploader. */
export const COPYCAT_WINDOW_THRESHOLD = 0.05;
/** Per-interval copycat overlap ratio that gates the later uploader. */
export const COPYCAT_INTERVAL_THRESHOLD = 0.03;
/** Soft-failure fraction of checked rollouts that gates a miner, per soft check. */
export const SOFT_CHECK_THRESHOLDS: Readonly<Record<string, number>> = Object.freeze({
  reward_valid: 0.20,
  token_distribution_valid: 0.51,
});
/** Context length assumed when the model config names none. */
export const DEFAULT_MAX_CONTEXT_LENGTH = 16384;
