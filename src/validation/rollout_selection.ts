/**
 * Which of a miner's rollouts the validator checks (protocol spec §5.4): all of them up to 20,
 * otherwise 10 % of its GRPO groups (at least 1, at most 4), ordered by a digest of their
 * commits and drawn with a CPython `Random` seeded from the hotkey and the validator's window
 * randomness.
 *
 * The digest needs Python's `json.dumps(commit, sort_keys=True, separators=(",", ":"))`. Floats
 * are known by field (`total_reward`, `advantage`, `token_logprobs` are Parquet float columns);
 * `commitments` and `beacon` are JSON strings in the file, so an integral number there prints
 * as an int — exact for every well-formed commit, and only a validator-local ordering otherwise
 * (the choice also depends on the validator's private window randomness: not consensus).
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { PythonRandom } from "../protocol/python_random.ts";
import { PythonFloat, pythonJsonDumps, type PythonJsonValue } from "../protocol/python_json.ts";
import {
  GROUP_SAMPLE_RATE,
  MAX_SAMPLES_PER_MINER,
  MAX_SAMPLES_PER_MINER_THRESHOLD,
  ROLLOUTS_PER_PROBLEM,
} from "./constants.ts";

/**
 * How many groups to check out of `numGroups`: `min(max(1, min(G, int(G·0.10))), 4)`.
 *
 * @param numGroups Number of distinct `rollout_group` values in the file.
 * @returns Groups to sample.
 *
 * @example
 * ```ts
 * import { groupsToCheck } from "./rollout_selection.ts";
 * if (groupsToCheck(39) !== 3 || groupsToCheck(100) !== 4 || groupsToCheck(9) !== 1) throw new Error();
 * ```
 */
export function groupsToCheck(numGroups: number): number {
  const g = Math.max(1, Math.min(numGroups, Math.trunc(numGroups * GROUP_SAMPLE_RATE)));
  return Math.min(g, Math.trunc(MAX_SAMPLES_PER_MINER / ROLLOUTS_PER_PROBLEM));
}

/**
 * The group-sampling seed: the first 8 bytes of `sha256("{hotkey}:{windowRand}")`, big-endian.
 *
 * @param hotkey The miner's SS58 hotkey.
 * @param windowRand The validator's window randomness (hex).
 * @returns The integer seed (beyond 2^53, hence a bigint).
 *
 * @example
 * ```ts
 * import { groupSamplingSeed } from "./rollout_selection.ts";
 * if (typeof groupSamplingSeed("5X", "ab") !== "bigint") throw new Error();
 * ```
 */
export function groupSamplingSeed(hotkey: string, windowRand: string): bigint {
  const d = sha256(new TextEncoder().encode(`${hotkey}:${windowRand}`));
  let n = 0n;
  for (let i = 0; i < 8; i++) n = (n << 8n) | BigInt(d[i]);
  return n;
}

/** The commit fields the digest serialises (the reference's in-memory dict after reading). */
export interface DigestCommit {
  /** Token ids. */
  tokens: readonly (number | bigint)[];
  /** Decoded commitments JSON (normally `{sketch: int}` objects). */
  commitments: unknown;
  /** Proof version. */
  proof_version: string;
  /** Model identity. */
  model: { name: string; layer_index: number };
  /** Commit signature hex. */
  signature: string;
  /** Decoded beacon JSON (normally `{randomness: hex}`). */
  beacon: unknown;
  /** Rollout metadata. */
  rollout: {
    total_reward: number;
    advantage: number;
    success: boolean;
    token_logprobs: readonly number[];
    prompt_length: number;
    completion_length: number;
  };
}

/**
 * Python's `json.dumps(commit, sort_keys=True, separators=(",", ":"))` for a commit as the
 * reference holds it after reading the window file.
 *
 * @param commit The commit.
 * @returns The canonical JSON text.
 *
 * @example
 * ```ts
 * import { canonicalCommitJson } from "./rollout_selection.ts";
 * const text = canonicalCommitJson({
 *   tokens: [1], commitments: [{ sketch: 2 }], proof_version: "v5",
 *   model: { name: "m", layer_index: -1 }, signature: "aa", beacon: { randomness: "bb" },
 *   rollout: { total_reward: 1, advantage: 0, success: true, token_logprobs: [0, 1e-5],
 *     prompt_length: 1, completion_length: 0 },
 * });
 * if (!text.includes('"rollout":{"advantage":0.0,"completion_length":0')) throw new Error();
 * if (!text.includes('"token_logprobs":[0.0,1e-05]')) throw new Error();
 * ```
 */
export function canonicalCommitJson(commit: DigestCommit): string {
  const r = commit.rollout;
  const value: PythonJsonValue = {
    tokens: commit.tokens.map((t) => (typeof t === "bigint" ? t : t)) as PythonJsonValue,
    commitments: commit.commitments as PythonJsonValue,
    proof_version: commit.proof_version,
    model: { name: commit.model.name, layer_index: commit.model.layer_index },
    signature: commit.signature,
    beacon: commit.beacon as PythonJsonValue,
    rollout: {
      total_reward: new PythonFloat(r.total_reward),
      advantage: new PythonFloat(r.advantage),
      success: r.success,
      token_logprobs: r.token_logprobs.map((x) => new PythonFloat(x)),
      prompt_length: r.prompt_length,
      completion_length: r.completion_length,
    },
  };
  return pythonJsonDumps(value, { sortKeys: true, separators: [",", ":"] });
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A group's ordering digest: `sha256(concat(sha256(canonicalCommitJson(commitᵢ))))` over its
 * rows in ascending row order, as lowercase hex.
 *
 * @param commits The group's commits, in ascending row order.
 * @returns 64 hex characters.
 *
 * @example
 * ```ts
 * import { groupDigest } from "./rollout_selection.ts";
 * if (groupDigest([]) !== "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") {
 *   throw new Error();
 * }
 * ```
 */
export function groupDigest(commits: readonly DigestCommit[]): string {
  const enc = new TextEncoder();
  const inner = new Uint8Array(32 * commits.length);
  commits.forEach((c, i) => inner.set(sha256(enc.encode(canonicalCommitJson(c))), 32 * i));
  return hex(sha256(inner));
}

/** A row as the selection reads it. */
export interface SelectionRow {
  /** `rollout_group` (rows with null are not grouped, as in the reference). */
  rollout_group: number | bigint | string | null | undefined;
  /** The commit. */
  commit: DigestCommit;
}

/** Outcome of {@linkcode selectRolloutsToCheck}. */
export interface RolloutSelection {
  /** Row indices to check, ascending. */
  indices: number[];
  /** The chosen group ids in draw order (empty when every row is checked). */
  groups: string[];
  /** Group id → its row indices, in row order. */
  groupRows: Map<string, number[]>;
}

/**
 * The reference's `_determine_rollouts_to_check`.
 *
 * @param rows The file's rows in order.
 * @param hotkey The miner's hotkey.
 * @param windowRand The validator's window randomness.
 * @returns The rows to check and the chosen groups.
 *
 * @example Small files are checked in full
 * ```ts
 * import { selectRolloutsToCheck } from "./rollout_selection.ts";
 * const sel = selectRolloutsToCheck([], "5X", "ab");
 * if (sel.indices.length !== 0) throw new Error();
 * ```
 */
export function selectRolloutsToCheck(
  rows: readonly SelectionRow[],
  hotkey: string,
  windowRand: string,
): RolloutSelection {
  const groupRows = new Map<string, number[]>();
  rows.forEach((row, i) => {
    if (row.rollout_group === null || row.rollout_group === undefined) return;
    const gid = String(row.rollout_group);
    const list = groupRows.get(gid);
    if (list) list.push(i);
    else groupRows.set(gid, [i]);
  });
  if (rows.length <= MAX_SAMPLES_PER_MINER_THRESHOLD) {
    return { indices: rows.map((_, i) => i), groups: [], groupRows };
  }
  const digests = new Map<string, string>();
  for (const [gid, idx] of groupRows) digests.set(gid, groupDigest(idx.map((i) => rows[i].commit)));
  // Array.prototype.sort is stable, like Python's sorted().
  const ordered = [...groupRows.keys()].sort((a, b) => {
    const da = digests.get(a)!;
    const db = digests.get(b)!;
    return da < db ? -1 : da > db ? 1 : 0;
  });
  const rng = new PythonRandom(groupSamplingSeed(hotkey, windowRand));
  const groups = rng.sample(ordered, groupsToCheck(groupRows.size));
  const indices = groups.flatMap((g) => groupRows.get(g)!).sort((a, b) => a - b);
  return { indices, groups, groupRows };
}
