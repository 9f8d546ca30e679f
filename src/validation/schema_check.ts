/**
 * The schema check (hard, protocol spec §5.6 #1): the reference validates `commit` with a
 * Pydantic model in lax mode (numeric strings and whole floats coerce to int, extra keys are
 * ignored). This reproduces those rules for JSON-shaped input and lists every error by path.
 *
 * @module
 */

import { CHALLENGE_K, MAX_NEW_TOKENS_PROTOCOL_CAP } from "./constants.ts";

/** Outcome of {@linkcode checkCommitSchema}. */
export interface SchemaCheckResult {
  /** The commit conforms. */
  ok: boolean;
  /** One entry per problem: `path: what was wrong`. */
  errors: string[];
}

type Coerced<T> = { ok: true; value: T } | { ok: false };

const INT_STRING = /^\s*[+-]?\d+(_\d+)*\s*$/;
const BOOL_STRINGS: Readonly<Record<string, boolean>> = {
  "0": false,
  off: false,
  f: false,
  false: false,
  n: false,
  no: false,
  "1": true,
  on: true,
  t: true,
  true: true,
  y: true,
  yes: true,
};

// Pydantic v2 lax int: ints, bools, whole floats, integer strings.
function laxInt(v: unknown): Coerced<number> {
  if (typeof v === "number" && Number.isInteger(v)) return { ok: true, value: v };
  if (typeof v === "bigint") return { ok: true, value: Number(v) };
  if (typeof v === "boolean") return { ok: true, value: v ? 1 : 0 };
  if (typeof v === "string" && INT_STRING.test(v)) {
    return { ok: true, value: Number(v.replaceAll("_", "").trim()) };
  }
  return { ok: false };
}

// Pydantic v2 lax float: numbers (inf/nan allowed), bools, numeric strings.
function laxFloat(v: unknown): Coerced<number> {
  if (typeof v === "number") return { ok: true, value: v };
  if (typeof v === "bigint") return { ok: true, value: Number(v) };
  if (typeof v === "boolean") return { ok: true, value: v ? 1 : 0 };
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (s === "inf" || s === "+inf" || s === "infinity") return { ok: true, value: Infinity };
    if (s === "-inf" || s === "-infinity") return { ok: true, value: -Infinity };
    if (s === "nan") return { ok: true, value: NaN };
    if (s !== "" && /^[+-]?(\d+(_\d+)*)?(\.\d*)?(e[+-]?\d+)?$/.test(s) && /\d/.test(s)) {
      return { ok: true, value: Number(s.replaceAll("_", "")) };
    }
  }
  return { ok: false };
}

// Pydantic v2 lax bool: bools, 0/1, and the usual yes/no strings.
function laxBool(v: unknown): Coerced<boolean> {
  if (typeof v === "boolean") return { ok: true, value: v };
  if (typeof v === "number" && (v === 0 || v === 1)) return { ok: true, value: v === 1 };
  if (typeof v === "string") {
    const key = v.trim().toLowerCase();
    // Own keys only: "constructor" is not a boolean.
    if (Object.hasOwn(BOOL_STRINGS, key)) return { ok: true, value: BOOL_STRINGS[key] };
  }
  return { ok: false };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const HEX = /^[0-9a-fA-F]+$/;

/**
 * Validates a commit as the reference's Pydantic `Commit` model does: tokens (≥ 32 ints),
 * commitments (objects, one per token), proof_version, model {name, layer_index},
 * signature, beacon {randomness: hex}, optional env {id, seed}, rollout {prompt_length ≥ 0,
 * 0 < completion_length ≤ 8192, success, total_reward, advantage, token_logprobs} and
 * prompt_length + completion_length == len(tokens).
 *
 * @param commit The row's `commit` value.
 * @returns Verdict and the list of errors.
 *
 * @example
 * ```ts
 * import { checkCommitSchema } from "./schema_check.ts";
 * const r = checkCommitSchema({ tokens: [1, 2] });
 * if (r.ok || !r.errors.some((e) => e.startsWith("tokens:"))) throw new Error();
 * ```
 */
export function checkCommitSchema(commit: unknown): SchemaCheckResult {
  const errors: string[] = [];
  if (!isObject(commit)) return { ok: false, errors: ["commit: expected an object"] };

  const need = (obj: Record<string, unknown>, key: string, path: string): unknown => {
    if (!(key in obj) || obj[key] === undefined) errors.push(`${path}: field required`);
    return obj[key];
  };
  const int = (obj: Record<string, unknown>, key: string, path: string): number | undefined => {
    if (!(key in obj) || obj[key] === undefined) {
      errors.push(`${path}: field required`);
      return undefined;
    }
    const c = laxInt(obj[key]);
    if (!c.ok) errors.push(`${path}: expected an integer`);
    return c.ok ? c.value : undefined;
  };
  const str = (obj: Record<string, unknown>, key: string, path: string): string | undefined => {
    const v = need(obj, key, path);
    if (v !== undefined && typeof v !== "string") errors.push(`${path}: expected a string`);
    return typeof v === "string" ? v : undefined;
  };

  // tokens: list[int], min length 32.
  let tokensLength: number | undefined;
  const tokens = need(commit, "tokens", "tokens");
  if (tokens !== undefined) {
    if (!Array.isArray(tokens)) errors.push("tokens: expected a list");
    else {
      const bad = tokens.findIndex((t) => !laxInt(t).ok);
      if (bad >= 0) errors.push(`tokens[${bad}]: expected an integer`);
      else if (tokens.length < CHALLENGE_K) {
        errors.push(`tokens: expected at least ${CHALLENGE_K} items, got ${tokens.length}`);
      } else tokensLength = tokens.length;
    }
  }
  // Pydantic's cross-field validators see tokens only if tokens validated (else []).
  const seenTokens = tokensLength ?? 0;

  const commitments = need(commit, "commitments", "commitments");
  if (commitments !== undefined) {
    if (!Array.isArray(commitments)) errors.push("commitments: expected a list");
    else {
      const bad = commitments.findIndex((c) => !isObject(c));
      if (bad >= 0) errors.push(`commitments[${bad}]: expected an object`);
      else if (commitments.length !== seenTokens) {
        errors.push(
          `commitments: length ${commitments.length} must equal tokens length ${seenTokens}`,
        );
      }
    }
  }

  str(commit, "proof_version", "proof_version");
  str(commit, "signature", "signature");

  const model = need(commit, "model", "model");
  if (model !== undefined) {
    if (!isObject(model)) errors.push("model: expected an object");
    else {
      str(model, "name", "model.name");
      int(model, "layer_index", "model.layer_index");
    }
  }

  const beacon = need(commit, "beacon", "beacon");
  if (beacon !== undefined) {
    if (!isObject(beacon)) errors.push("beacon: expected an object");
    else {
      const r = str(beacon, "randomness", "beacon.randomness");
      if (r !== undefined && !HEX.test(r)) {
        errors.push(
          `beacon.randomness: must match ^[0-9a-fA-F]+$, got ${JSON.stringify(r.slice(0, 40))}`,
        );
      }
    }
  }

  if ("env" in commit && commit.env !== null && commit.env !== undefined) {
    if (!isObject(commit.env)) errors.push("env: expected an object or null");
    else {
      str(commit.env, "id", "env.id");
      int(commit.env, "seed", "env.seed");
    }
  }

  const rollout = need(commit, "rollout", "rollout");
  if (rollout !== undefined) {
    if (!isObject(rollout)) errors.push("rollout: expected an object");
    else {
      const before = errors.length;
      const prompt = int(rollout, "prompt_length", "rollout.prompt_length");
      if (prompt !== undefined && prompt < 0) {
        errors.push(`rollout.prompt_length: must be >= 0, got ${prompt}`);
      }
      const completion = int(rollout, "completion_length", "rollout.completion_length");
      if (
        completion !== undefined && (completion <= 0 || completion > MAX_NEW_TOKENS_PROTOCOL_CAP)
      ) {
        errors.push(
          `rollout.completion_length: must be in (0, ${MAX_NEW_TOKENS_PROTOCOL_CAP}], got ${completion}`,
        );
      }
      if (!("success" in rollout) || rollout.success === undefined) {
        errors.push("rollout.success: field required");
      } else if (!laxBool(rollout.success).ok) errors.push("rollout.success: expected a boolean");
      for (const key of ["total_reward", "advantage"]) {
        if (!(key in rollout) || rollout[key] === undefined) {
          errors.push(`rollout.${key}: field required`);
        } else if (!laxFloat(rollout[key]).ok) errors.push(`rollout.${key}: expected a number`);
      }
      const lps = rollout.token_logprobs;
      if (lps !== undefined) {
        if (!Array.isArray(lps)) errors.push("rollout.token_logprobs: expected a list");
        else {
          const bad = lps.findIndex((x) => !laxFloat(x).ok);
          if (bad >= 0) errors.push(`rollout.token_logprobs[${bad}]: expected a number`);
        }
      }
      if (errors.length === before && prompt! + completion! !== seenTokens) {
        errors.push(
          `rollout: prompt_length(${prompt}) + completion_length(${completion}) must equal tokens length ${seenTokens}`,
        );
      }
    }
  }
  return { ok: errors.length === 0, errors };
}
