/**
 * The rollout record (protocol spec §4.2): types mirroring the reference's in-memory dict with
 * the same snake_case keys, and a parser that turns untrusted input into a checked record or a
 * {@linkcode RolloutError} naming the field and the problem.
 *
 * @module
 */

import { ProtocolError } from "./protocol_error.ts";
import { MAX_NEW_TOKENS_PROTOCOL_CAP, PRIME_Q } from "./constants.ts";

/** One per-position commitment: `{"sketch": <int>}` (exactly one key in v5). */
export interface Commitment {
  /** Sketch value in `[0, PRIME_Q)`. */
  sketch: number;
}

/** The model a rollout claims: name (signed, not compared) and layer index (−1). */
export interface RolloutModel {
  /** `model.name_or_path` of the checkpoint, e.g. `"Qwen/Qwen3-4B-Instruct-2507"`. */
  name: string;
  /** Hidden-state layer; v5 requires −1 (last hidden state). */
  layer_index: number;
}

/**
 * The miner's beacon. `randomness` seeds the sketch coefficients and the commit binding; other
 * keys the miner wrote (the reference writes drand's `round`) are kept so a window file reads
 * back exactly.
 */
export interface RolloutBeacon {
  /** Combined randomness, hex without `0x`. */
  randomness: string;
  /** Any further keys, kept as given. */
  [key: string]: unknown;
}

/** Episode data: reward, GRPO advantage, per-token log-probs and the prompt/completion split. */
export interface RolloutEpisode {
  /** Environment reward claimed by the miner. */
  total_reward: number;
  /** GRPO advantage within the group. */
  advantage: number;
  /** Whether the environment judged the completion successful. */
  success: boolean;
  /** One per token: `prompt_length` zeros, then the completion log-probs. */
  token_logprobs: number[];
  /** Number of prompt tokens (≥ 0). */
  prompt_length: number;
  /** Number of completion tokens (> 0). */
  completion_length: number;
}

/** The `commit` object of a rollout (spec §4.2). */
export interface RolloutCommit {
  /** Prompt ids followed by completion ids. */
  tokens: number[];
  /** One commitment per token, in position order. */
  commitments: Commitment[];
  /** `"v5"` from miners; validators also accept `"v4"`. */
  proof_version: string;
  /** Claimed model. */
  model: RolloutModel;
  /** Hex sr25519 signature over the commit binding (spec §4.3). */
  signature: string;
  /** Miner beacon. */
  beacon: RolloutBeacon;
  /** Episode data. */
  rollout: RolloutEpisode;
}

/** One rollout, with the reference's keys (spec §4.2). */
export interface Rollout {
  /** Window start block `W` (a multiple of 30). */
  window_start: number;
  /** Block at packaging time. */
  block: number;
  /** `group * 16 + rollout_index`; unique within a window file. */
  nonce: number;
  /** Hash of block `W`: `"0x"` + 64 hex. */
  block_hash: string;
  /** The miner's combined randomness. */
  randomness: string;
  /** Whether the miner used drand. */
  use_drand: boolean;
  /** Problem index within the window. */
  rollout_group: number;
  /** Index within the group (0..15). */
  rollout_index: number;
  /** Group size (16 on the subnet). */
  total_in_group: number;
  /** Trainer checkpoint window the miner used. */
  checkpoint_window: number;
  /** The commitment and episode. */
  commit: RolloutCommit;
  /** Unix time in seconds (informational, never trusted). */
  timestamp: number;
  /** `episode_seed + "|" + block_hash + "|" + nonce` (spec §4.2). */
  challenge: string;
  /** Miner hotkey (SS58). */
  hotkey: string;
  /** Hex sr25519 signature over the UTF-8 challenge. */
  signature: string;
}

/** Limits for {@linkcode parseRollout}. All optional; defaults noted per field. */
export interface ParseRolloutOptions {
  /** If given, every token id must be in `[0, vocabSize)` (model config `vocab_size`). */
  vocabSize?: number;
  /** Most tokens (prompt + completion) accepted; default {@linkcode MAX_ROLLOUT_LEN_TOKENS}. */
  maxLenTokens?: number;
  /** Most completion tokens accepted; default 8192 (the protocol's cap, spec §0). */
  maxCompletionTokens?: number;
  /** Longest string accepted in any text field; default {@linkcode MAX_ROLLOUT_STRING_LENGTH}. */
  maxStringLength?: number;
  /** Prefix for error paths, e.g. `"inferences[3]"`; default none. */
  pathPrefix?: string;
}

/** Default bound on `len(tokens)` in {@linkcode parseRollout}. */
export const MAX_ROLLOUT_LEN_TOKENS: number = 65536;
/** Default bound on any string field's length in {@linkcode parseRollout}. */
export const MAX_ROLLOUT_STRING_LENGTH: number = 4096;

/** Stable reasons a rollout is rejected. */
export type RolloutErrorCode =
  | "missing"
  | "wrong_type"
  | "not_finite"
  | "not_integer"
  | "out_of_range"
  | "bad_hex"
  | "bad_token"
  | "length_mismatch"
  | "unexpected_key"
  | "oversized";

/**
 * A rollout record is malformed. `path` names the field (`"commit.rollout.token_logprobs[3]"`),
 * `code` the kind of problem.
 *
 * @example
 * ```ts
 * import { parseRollout, RolloutError } from "./rollout.ts";
 * import { throws } from "node:assert/strict";
 *
 * throws(
 *   () => parseRollout({ window_start: "7200" }),
 *   (e) => e instanceof RolloutError && e.path === "window_start" && e.code === "wrong_type",
 * );
 * ```
 */
export class RolloutError extends ProtocolError {
  /** Dotted path of the offending field, with `[i]` for list items. */
  readonly path: string;
  /** The kind of problem. */
  declare readonly code: RolloutErrorCode;

  /**
   * Creates a rollout error; the message names the path and the problem.
   *
   * @param code The kind of problem.
   * @param path Path of the offending field.
   * @param problem What was wrong and what was expected.
   */
  constructor(code: RolloutErrorCode, path: string, problem: string) {
    super(code, `Invalid rollout field ${path || "(root)"}: ${problem}`);
    this.name = "RolloutError";
    this.path = path;
  }
}

const HEX_RE = /^[0-9a-fA-F]+$/;
const PREFIXED_HEX_RE = /^(0[xX])?[0-9a-fA-F]*$/;
const SIGNATURE_RE = /^(0[xX])?[0-9a-fA-F]{128}$/;
const BLOCK_HASH_RE = /^0x[0-9a-fA-F]{64}$/;
const SS58_RE = /^[1-9A-HJ-NP-Za-km-z]+$/;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return `${typeof value} ${String(value)}`;
  }
  return typeof value;
}

class Reader {
  constructor(
    readonly options: Required<Omit<ParseRolloutOptions, "vocabSize">> & {
      vocabSize?: number;
    },
  ) {}

  path(parent: string, key: string | number): string {
    if (typeof key === "number") return `${parent}[${key}]`;
    return parent ? `${parent}.${key}` : key;
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new RolloutError("wrong_type", path, `expected an object, got ${describe(value)}`);
    }
    return value as Record<string, unknown>;
  }

  field(obj: Record<string, unknown>, key: string, parent: string): [unknown, string] {
    const path = this.path(parent, key);
    if (!Object.hasOwn(obj, key) || obj[key] === undefined) {
      throw new RolloutError("missing", path, "required field is missing");
    }
    return [obj[key], path];
  }

  integer(
    value: unknown,
    path: string,
    min: number,
    max: number = Number.MAX_SAFE_INTEGER,
  ): number {
    let n: number;
    if (typeof value === "bigint") {
      // int64 columns may arrive as bigint; accept them only where the value is exact as a number.
      if (value < BigInt(Number.MIN_SAFE_INTEGER) || value > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new RolloutError("out_of_range", path, `integer ${value} is beyond ±(2^53 − 1)`);
      }
      n = Number(value);
    } else if (typeof value === "number") {
      if (!Number.isFinite(value)) {
        throw new RolloutError("not_finite", path, `expected an integer, got ${value}`);
      }
      if (!Number.isInteger(value)) {
        throw new RolloutError("not_integer", path, `expected an integer, got ${value}`);
      }
      if (!Number.isSafeInteger(value)) {
        throw new RolloutError("out_of_range", path, `integer ${value} is beyond ±(2^53 − 1)`);
      }
      n = value;
    } else {
      throw new RolloutError("wrong_type", path, `expected an integer, got ${describe(value)}`);
    }
    if (n < min || n > max) {
      throw new RolloutError(
        "out_of_range",
        path,
        `expected an integer in [${min}, ${max}], got ${n}`,
      );
    }
    return n;
  }

  float(value: unknown, path: string): number {
    if (typeof value !== "number") {
      throw new RolloutError("wrong_type", path, `expected a number, got ${describe(value)}`);
    }
    if (!Number.isFinite(value)) {
      throw new RolloutError("not_finite", path, `expected a finite number, got ${value}`);
    }
    return value;
  }

  boolean(value: unknown, path: string): boolean {
    if (typeof value !== "boolean") {
      throw new RolloutError("wrong_type", path, `expected true or false, got ${describe(value)}`);
    }
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== "string") {
      throw new RolloutError("wrong_type", path, `expected a string, got ${describe(value)}`);
    }
    if (value.length > this.options.maxStringLength) {
      throw new RolloutError(
        "oversized",
        path,
        `string of ${value.length} characters exceeds the limit of ${this.options.maxStringLength}`,
      );
    }
    return value;
  }

  matching(value: unknown, path: string, re: RegExp, expected: string, code: RolloutErrorCode) {
    const s = this.string(value, path);
    if (!re.test(s)) throw new RolloutError(code, path, `expected ${expected}, got ${describe(s)}`);
    return s;
  }

  array(value: unknown, path: string, maxLength: number): unknown[] {
    if (!Array.isArray(value)) {
      throw new RolloutError("wrong_type", path, `expected an array, got ${describe(value)}`);
    }
    if (value.length > maxLength) {
      throw new RolloutError(
        "oversized",
        path,
        `array of ${value.length} entries exceeds the limit of ${maxLength}`,
      );
    }
    // Holes become undefined so each entry is checked (map() would skip them and keep the hole).
    return Array.from(value);
  }
}

/**
 * Checks an untrusted rollout (a JSON-decoded dict, a Parquet row) and returns a fresh, fully
 * typed copy. Stricter than the reference's lax schema on purpose: no coercion (a string is not a
 * number, `1` is not `true`), no NaN or ±Infinity anywhere, sketches must lie in `[0, PRIME_Q)`
 * (the reference's distance turns negative for larger claims and would pass them), hex fields
 * must be hex and signatures 64 bytes. Integers may be given as bigint when exactly
 * representable. Unknown keys are ignored, except inside `commit.beacon`, which is kept whole,
 * and inside commitments, which must hold exactly `sketch` (extra keys would change the signed
 * commitments hash).
 *
 * Length rules: `len(commitments) == len(token_logprobs) == len(tokens) ==
 * prompt_length + completion_length`, `0 < completion_length ≤ maxCompletionTokens`.
 * Minimum lengths the validator enforces (≥ 32 completion tokens) are checks, not parsing.
 *
 * @param value The untrusted record.
 * @param options Limits (vocabulary size, maximum lengths) and an error path prefix.
 * @returns The checked rollout.
 * @throws {RolloutError} Naming the field path and the problem, for any malformed input.
 *
 * @example
 * ```ts
 * import { parseRollout, RolloutError } from "./rollout.ts";
 * import { strictEqual, throws } from "node:assert/strict";
 *
 * const row = {
 *   window_start: 7200, block: 7203, nonce: 0, block_hash: "0x" + "5e".repeat(32),
 *   randomness: "ab".repeat(32), use_drand: true, rollout_group: 0, rollout_index: 0,
 *   total_in_group: 16, checkpoint_window: 7170, timestamp: 1764000000.5,
 *   challenge: "|0x" + "5e".repeat(32) + "|0", hotkey: "5G7MPbdqATU23vuyk6zsqSRAyWYxrk4dipenavzCgWSbnGCz",
 *   signature: "00".repeat(64),
 *   commit: {
 *     tokens: [1, 2, 3], commitments: [{ sketch: 5 }, { sketch: 6 }, { sketch: 7 }],
 *     proof_version: "v5", model: { name: "m", layer_index: -1 }, signature: "00".repeat(64),
 *     beacon: { randomness: "ab".repeat(32) },
 *     rollout: { total_reward: 1, advantage: 0.5, success: true, token_logprobs: [0, -0.5, -1.25],
 *                prompt_length: 1, completion_length: 2 },
 *   },
 * };
 * strictEqual(parseRollout(row).commit.tokens.length, 3);
 * throws(() => parseRollout(row, { vocabSize: 3 }), RolloutError); // token 3 is outside [0, 3)
 * ```
 */
export function parseRollout(value: unknown, options: ParseRolloutOptions = {}): Rollout {
  const r = new Reader({
    vocabSize: options.vocabSize,
    maxLenTokens: options.maxLenTokens ?? MAX_ROLLOUT_LEN_TOKENS,
    maxCompletionTokens: options.maxCompletionTokens ?? MAX_NEW_TOKENS_PROTOCOL_CAP,
    maxStringLength: options.maxStringLength ?? MAX_ROLLOUT_STRING_LENGTH,
    pathPrefix: options.pathPrefix ?? "",
  });
  const root = options.pathPrefix ?? "";
  const top = r.object(value, root);
  const int = (key: string, min = 0, max?: number) =>
    r.integer(...r.field(top, key, root), min, max);

  const window_start = int("window_start");
  const block = int("block");
  const nonce = int("nonce");
  const block_hash = r.matching(
    ...r.field(top, "block_hash", root),
    BLOCK_HASH_RE,
    '"0x" followed by 64 hex digits',
    "bad_hex",
  );
  const randomness = r.matching(
    ...r.field(top, "randomness", root),
    PREFIXED_HEX_RE,
    "a hex string",
    "bad_hex",
  );
  const use_drand = r.boolean(...r.field(top, "use_drand", root));
  const rollout_group = int("rollout_group");
  const rollout_index = int("rollout_index", 0, 2 ** 31 - 1);
  const total_in_group = int("total_in_group", 0, 2 ** 31 - 1);
  const checkpoint_window = int("checkpoint_window");
  const commit = parseCommit(r, ...r.field(top, "commit", root));
  const timestamp = r.float(...r.field(top, "timestamp", root));
  const challenge = r.string(...r.field(top, "challenge", root));
  const hotkey = r.matching(
    ...r.field(top, "hotkey", root),
    SS58_RE,
    "an SS58 address (base58 characters)",
    "wrong_type",
  );
  const signature = r.matching(
    ...r.field(top, "signature", root),
    SIGNATURE_RE,
    "128 hex digits (a 64-byte sr25519 signature)",
    "bad_hex",
  );
  return {
    window_start,
    block,
    nonce,
    block_hash,
    randomness,
    use_drand,
    rollout_group,
    rollout_index,
    total_in_group,
    checkpoint_window,
    commit,
    timestamp,
    challenge,
    hotkey,
    signature,
  };
}

function parseCommit(r: Reader, value: unknown, path: string): RolloutCommit {
  const obj = r.object(value, path);
  const maxLen = r.options.maxLenTokens;

  const [tokensValue, tokensPath] = r.field(obj, "tokens", path);
  const tokensRaw = r.array(tokensValue, tokensPath, maxLen);
  const vocab = r.options.vocabSize;
  const tokens = tokensRaw.map((t, i) => {
    const p = r.path(tokensPath, i);
    const id = r.integer(t, p, Number.MIN_SAFE_INTEGER);
    if (id < 0 || (vocab !== undefined && id >= vocab)) {
      throw new RolloutError(
        "bad_token",
        p,
        vocab === undefined
          ? `token id ${id} is negative`
          : `token id ${id} is outside the vocabulary [0, ${vocab})`,
      );
    }
    return id;
  });

  const [commitmentsValue, commitmentsPath] = r.field(obj, "commitments", path);
  const commitmentsRaw = r.array(commitmentsValue, commitmentsPath, maxLen);
  const commitments = commitmentsRaw.map((c, i) => {
    const p = r.path(commitmentsPath, i);
    const obj = r.object(c, p);
    const sketch = r.integer(...r.field(obj, "sketch", p), 0, PRIME_Q - 1);
    // Extra keys would enter the signed commitments hash; v5 commitments have exactly one key.
    for (const key of Object.keys(obj)) {
      if (key !== "sketch") {
        throw new RolloutError(
          "unexpected_key",
          r.path(p, key),
          'v5 commitments hold only "sketch"; remove the extra key',
        );
      }
    }
    return { sketch };
  });

  const proof_version = r.string(...r.field(obj, "proof_version", path));
  const [modelValue, modelPath] = r.field(obj, "model", path);
  const modelObj = r.object(modelValue, modelPath);
  const model = {
    name: r.string(...r.field(modelObj, "name", modelPath)),
    layer_index: r.integer(...r.field(modelObj, "layer_index", modelPath), -(2 ** 31), 2 ** 31 - 1),
  };
  const signature = r.matching(
    ...r.field(obj, "signature", path),
    SIGNATURE_RE,
    "128 hex digits (a 64-byte sr25519 signature)",
    "bad_hex",
  );

  const [beaconValue, beaconPath] = r.field(obj, "beacon", path);
  const beaconObj = r.object(beaconValue, beaconPath);
  const beacon: RolloutBeacon = {
    ...structuredCloneJson(beaconObj, beaconPath, r),
    randomness: r.matching(
      ...r.field(beaconObj, "randomness", beaconPath),
      HEX_RE,
      "hex digits only (schema ^[0-9a-fA-F]+$)",
      "bad_hex",
    ),
  };

  const rollout = parseEpisode(r, ...r.field(obj, "rollout", path));

  const n = tokens.length;
  if (commitments.length !== n) {
    throw new RolloutError(
      "length_mismatch",
      commitmentsPath,
      `has ${commitments.length} entries but tokens has ${n}; expected one commitment per token`,
    );
  }
  const lpPath = r.path(r.path(path, "rollout"), "token_logprobs");
  if (rollout.token_logprobs.length !== n) {
    throw new RolloutError(
      "length_mismatch",
      lpPath,
      `has ${rollout.token_logprobs.length} entries but tokens has ${n}; expected one per token`,
    );
  }
  if (rollout.prompt_length + rollout.completion_length !== n) {
    throw new RolloutError(
      "length_mismatch",
      r.path(path, "rollout"),
      `prompt_length ${rollout.prompt_length} + completion_length ${rollout.completion_length} ≠ ${n} tokens`,
    );
  }
  return { tokens, commitments, proof_version, model, signature, beacon, rollout };
}

function parseEpisode(r: Reader, value: unknown, path: string): RolloutEpisode {
  const obj = r.object(value, path);
  const [lpValue, lpPath] = r.field(obj, "token_logprobs", path);
  const token_logprobs = r.array(lpValue, lpPath, r.options.maxLenTokens).map((x, i) =>
    r.float(x, r.path(lpPath, i))
  );
  return {
    total_reward: r.float(...r.field(obj, "total_reward", path)),
    advantage: r.float(...r.field(obj, "advantage", path)),
    success: r.boolean(...r.field(obj, "success", path)),
    token_logprobs,
    prompt_length: r.integer(...r.field(obj, "prompt_length", path), 0, r.options.maxLenTokens),
    completion_length: r.integer(
      ...r.field(obj, "completion_length", path),
      1,
      r.options.maxCompletionTokens,
    ),
  };
}

/**
 * Copies beacon extras, allowing only JSON values (no functions, no cycles, finite numbers;
 * bigints kept).
 */
function structuredCloneJson(
  obj: Record<string, unknown>,
  path: string,
  r: Reader,
): Record<string, unknown> {
  const copy = (v: unknown, p: string, depth: number): unknown => {
    if (depth > 8) throw new RolloutError("oversized", p, "nested deeper than 8 levels");
    if (v === null || typeof v === "boolean") return v;
    if (typeof v === "string") return r.string(v, p);
    if (typeof v === "number") return r.float(v, p);
    // Any JSON integer is fine here (drand rounds are never checked); kept exact for rewriting.
    if (typeof v === "bigint") return v;
    if (Array.isArray(v)) {
      return r.array(v, p, 1024).map((x, i) => copy(x, r.path(p, i), depth + 1));
    }
    if (typeof v === "object") {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length > 1024) {
        throw new RolloutError("oversized", p, `object of ${entries.length} keys exceeds 1024`);
      }
      return Object.fromEntries(entries.map(([k, x]) => [k, copy(x, r.path(p, k), depth + 1)]));
    }
    throw new RolloutError("wrong_type", p, `expected a JSON value, got ${describe(v)}`);
  };
  return copy(obj, path, 0) as Record<string, unknown>;
}
