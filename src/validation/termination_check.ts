/**
 * The termination check (hard, protocol spec §5.6 #5): a completion must stop at exactly the
 * maximum length, or end in EOS that the model found likely enough (P ≥ 0.02) at the previous
 * position.
 *
 * @module
 */

import { MAX_NEW_TOKENS_PROTOCOL_CAP, MIN_EOS_PROBABILITY } from "./constants.ts";

/**
 * The completion budget from the checkpoint's `generation_params.max_tokens`: `min(max_tokens,
 * 8192)` when it reads as a positive integer (Python `int()` of a number truncates, of a string
 * parses decimal), else 8192.
 *
 * @param maxTokens The raw `max_tokens` value (any type; absent is `undefined`).
 * @returns The maximum completion length.
 *
 * @example
 * ```ts
 * import { expectedMaxNewTokens } from "./termination_check.ts";
 * if (expectedMaxNewTokens(512) !== 512 || expectedMaxNewTokens(null) !== 8192) throw new Error();
 * if (expectedMaxNewTokens(20000) !== 8192 || expectedMaxNewTokens("300") !== 300) throw new Error();
 * ```
 */
export function expectedMaxNewTokens(maxTokens: unknown): number {
  let value: number | null = null;
  if (typeof maxTokens === "number" && Number.isFinite(maxTokens)) value = Math.trunc(maxTokens);
  else if (typeof maxTokens === "boolean") value = maxTokens ? 1 : 0;
  else if (typeof maxTokens === "bigint") value = Number(maxTokens);
  else if (typeof maxTokens === "string" && /^\s*[+-]?\d+(_\d+)*\s*$/.test(maxTokens)) {
    value = Number(maxTokens.replaceAll("_", "").trim());
  }
  if (value === null || value <= 0) return MAX_NEW_TOKENS_PROTOCOL_CAP;
  return Math.min(value, MAX_NEW_TOKENS_PROTOCOL_CAP);
}

/** Inputs of {@linkcode checkTermination}. */
export interface TerminationInput {
  /** The rollout's `completion_length`. */
  completionLength: number;
  /** The last token of the full sequence (`tokens[-1]`); undefined for an empty sequence. */
  lastToken: number | undefined;
  /** The tokenizer's EOS id; `null` when the tokenizer has none. */
  eosTokenId: number | null;
  /**
   * P(EOS) from the raw logits at position len−2 (softmax, no temperature), or a function that
   * computes it — called only when the EOS branch is reached, so callers can skip the work.
   */
  eosProbability: number | (() => number);
  /** `generation_params.max_tokens` as the checkpoint metadata holds it. */
  maxTokens?: unknown;
}

/** Outcome of {@linkcode checkTermination}. */
export interface TerminationResult {
  /** The check passed. */
  ok: boolean;
  /** Why: `max_length`, `eos`, or the failure (`exceeds_max_tokens`, `empty`, `no_eos_id`, `not_eos`, `eos_probability_low`). */
  reason:
    | "max_length"
    | "eos"
    | "exceeds_max_tokens"
    | "empty"
    | "no_eos_id"
    | "not_eos"
    | "eos_probability_low";
  /** P(EOS) when it was evaluated. */
  eosProbability?: number;
}

/**
 * The termination rule, in the reference's order.
 *
 * @param input Completion length, last token, EOS id and probability, max tokens.
 * @returns Verdict and reason.
 *
 * @example
 * ```ts
 * import { checkTermination } from "./termination_check.ts";
 * const r = checkTermination({
 *   completionLength: 40, lastToken: 2, eosTokenId: 2, eosProbability: 0.5, maxTokens: 512,
 * });
 * if (!r.ok || r.reason !== "eos") throw new Error();
 * ```
 */
export function checkTermination(input: TerminationInput): TerminationResult {
  if (input.lastToken === undefined) return { ok: false, reason: "empty" };
  const max = expectedMaxNewTokens(input.maxTokens);
  if (input.completionLength > max) return { ok: false, reason: "exceeds_max_tokens" };
  if (input.completionLength === max) return { ok: true, reason: "max_length" };
  if (input.eosTokenId === null) return { ok: false, reason: "no_eos_id" };
  if (input.lastToken !== input.eosTokenId) return { ok: false, reason: "not_eos" };
  const p = typeof input.eosProbability === "function"
    ? input.eosProbability()
    : input.eosProbability;
  // NaN compares false, as in the reference.
  return p >= MIN_EOS_PROBABILITY
    ? { ok: true, reason: "eos", eosProbability: p }
    : { ok: false, reason: "eos_probability_low", eosProbability: p };
}
