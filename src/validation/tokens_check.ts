/**
 * The token check (hard, protocol spec §5.6 #2): a non-empty sequence of integer ids inside
 * the model's vocabulary, no longer than its context.
 *
 * @module
 */

import { DEFAULT_MAX_CONTEXT_LENGTH } from "./constants.ts";

/** Model facts the token check needs. */
export interface TokenLimits {
  /** Vocabulary size; `null` skips the id bound check, as the reference does. */
  vocabSize: number | null;
  /** Maximum sequence length (`max_position_embeddings`, …); default 16384. */
  maxContextLength?: number;
}

/** Outcome of {@linkcode checkTokens}. */
export interface TokenCheckResult {
  /** The check passed. */
  ok: boolean;
  /** Why not. */
  reason?: "empty" | "invalid_id" | "too_long";
  /** Index of the first invalid id. */
  index?: number;
}

/**
 * Checks token ids against the vocabulary and the sequence length.
 *
 * @param tokens The full sequence (prompt + completion).
 * @param limits Vocabulary size and context length.
 * @returns Verdict and reason.
 *
 * @example
 * ```ts
 * import { checkTokens } from "./tokens_check.ts";
 * if (!checkTokens([1, 2], { vocabSize: 10 }).ok) throw new Error();
 * if (checkTokens([1, 10], { vocabSize: 10 }).reason !== "invalid_id") throw new Error();
 * ```
 */
export function checkTokens(tokens: readonly unknown[], limits: TokenLimits): TokenCheckResult {
  if (tokens.length === 0) return { ok: false, reason: "empty" };
  if (limits.vocabSize !== null) {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      const isInt = (typeof t === "number" && Number.isInteger(t)) || typeof t === "bigint";
      if (!isInt || (t as number) < 0 || (t as number) >= limits.vocabSize) {
        return { ok: false, reason: "invalid_id", index: i };
      }
    }
  }
  const max = limits.maxContextLength ?? DEFAULT_MAX_CONTEXT_LENGTH;
  if (tokens.length > max) return { ok: false, reason: "too_long" };
  return { ok: true };
}
