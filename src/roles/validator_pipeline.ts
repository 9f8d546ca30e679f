/**
 * The validator's per-miner pipeline (protocol spec §5.3–§5.10): file-level checks, the choice
 * of rollouts to check, one batched proof forward, the per-row checks in the reference's order
 * with hard and soft failures, per-rollout verdicts with reasons, and the miner's metrics.
 *
 * Two modes. `compat` is the reference's v5. `strict` adds: the beacon randomness must be the
 * window's value, the row hotkey and challenge must be the miner's and the expected text, the
 * nonce must follow `group*16+index`, the sketch is compared at every position with a tolerance
 * measured from honest drift (`strict_policy.ts`), log-probs at every completion position, the
 * model name must match when known, and a row that throws fails instead of being skipped.
 *
 * Shapes: T positions of a row, C hidden size, V vocabulary.
 *
 * @module
 */

import type { Model, ProofForwardResult } from "../model/model.ts";
import { challengeIndicesInRange } from "../protocol/challenge.ts";
import { sketchCoefficients } from "../protocol/coefficients.ts";
import {
  ACCEPTED_PROOF_VERSIONS,
  CHALLENGE_K,
  LAYER_INDEX,
  PROOF_BATCH_SIZE,
  ROLLOUTS_PER_PROBLEM,
} from "../protocol/constants.ts";
import { parseRollout, type Rollout } from "../protocol/rollout.ts";
import { deriveEnvSeed } from "../protocol/seeds.ts";
import {
  rolloutChallenge,
  verifyCommitSignature,
  verifyRolloutSignature,
} from "../protocol/signature.ts";
import { sketchTolerance, verifyCommitmentsAt } from "../protocol/verify.ts";
import {
  aggregateMinerRows,
  type CheckedRow,
  gateCopycatMetrics,
  HARD_CHECKS,
  invalidFileMetrics,
  type MinerWindowMetrics,
} from "../validation/aggregation.ts";
import {
  completionDigest,
  completionDigestCounts,
  type CopycatSubmission,
  type CopycatTracker,
} from "../validation/copycat.ts";
import { checkDistribution, chosenTokenProbabilities } from "../validation/distribution_check.ts";
import { checkWindowFileStructure } from "../validation/file_structure_check.ts";
import { checkLogprobs } from "../validation/logprob_check.ts";
import { checkReward } from "../validation/reward_check.ts";
import { selectRolloutsToCheck } from "../validation/rollout_selection.ts";
import { checkCommitSchema } from "../validation/schema_check.ts";
import { checkTermination } from "../validation/termination_check.ts";
import { checkTokens } from "../validation/tokens_check.ts";
import type { LogitsSource } from "./lm_head.ts";
import { checkLogprobsStrict, checkSketchesStrict, type StrictPolicy } from "./strict_policy.ts";
import {
  buildPromptIds,
  evaluateCompletion,
  type PipelineTokenizer,
  type TaskConfig,
} from "./task.ts";

/** `compat` = the reference's v5 rules; `strict` = ours (see the module doc). */
export type VerificationMode = "strict" | "compat";

/** The window as the validator knows it from the chain and its own randomness. */
export interface ValidatorWindow {
  /** Target window W. */
  windowStart: number;
  /** Block hash of W from the chain (`"0x"` + 64 hex). */
  blockHash: string;
  /** The validator's challenge randomness (`window_rand`, spec §5.1), hex. */
  challengeRandomness: string;
  /**
   * Strict: the window's combined randomness (block hash + the window's drand round) that every
   * beacon must equal. Without it strict mode only requires one beacon per file, equal to each
   * row's `randomness`, and says so in the result.
   */
  beaconRandomness?: string;
  /** The validator's checkpoint window, when known. */
  checkpointWindow?: number;
}

/** What to verify and with which model. */
export interface MinerValidationConfig {
  /** Rules to apply. */
  mode: VerificationMode;
  /** The miner whose file this is (SS58). */
  minerHotkey: string;
  /** The window. */
  window: ValidatorWindow;
  /** The checkpoint's model (any backend). */
  model: Model;
  /** `model_name` of the checkpoint; strict mode requires `commit.model.name` to equal it. */
  modelName?: string;
  /** Tokenizer; required unless `only: "proof"`. */
  tokenizer?: PipelineTokenizer;
  /** The window's task; required unless `only: "proof"`. */
  task?: TaskConfig;
  /** Rows of logits for the distribution check when temperature or penalty ≠ 1. */
  logits?: LogitsSource;
  /** `"proof"`: only schema, signatures, tokens, sketches and log-probs (no env data needed). */
  only?: "proof";
  /** `"reference"` (default): the reference's sampling of groups; `"all"`: every row. */
  selection?: "reference" | "all";
  /** Stop at the first hard failure as the reference does (default false: judge every row). */
  stopAtHardFailure?: boolean;
  /** Strict thresholds (default `STRICT_POLICY` of strict_policy.ts). */
  policy?: StrictPolicy;
}

/** The verdict on one rollout. */
export interface RolloutVerdict {
  /** Row index in the file. */
  index: number;
  /** The row's hotkey field. */
  hotkey: string;
  /** The row's `rollout_group`, as given. */
  group: unknown;
  /** `pass` when every check that ran passed. */
  verdict: "pass" | "fail";
  /** Names of failed checks, in execution order. */
  failed: string[];
  /** True when a failed check is hard. */
  hardFailure: boolean;
  /** Every check that ran and its outcome, in execution order. */
  checks: Record<string, boolean>;
  /** A short reason per failed check. */
  reasons: Record<string, string>;
}

/** The result for one miner's file. */
export interface MinerValidationResult {
  /** The mode used. */
  mode: VerificationMode;
  /** File-level failure (`wallet_mismatch`, `invalid_group_size`, …), if any. */
  fileFailure?: string;
  /** Verdicts of the checked rows, in row order. */
  rollouts: RolloutVerdict[];
  /** Row indices chosen for checking. */
  checkedIndices: number[];
  /** The miner's window metrics (reference semantics; zero on failure). */
  metrics: MinerWindowMetrics;
  /** Completion digest counts over every row (copycat input). */
  digestCounts: Map<string, number>;
  /** Notes on what could not be checked. */
  notes: string[];
}

/** Pre-pipeline checks (spec §5.6 1–3) plus strict identity checks; all hard. */
export const PRE_CHECKS: readonly string[] = Object.freeze([
  "checkpoint_window",
  "window_start",
  "block_hash",
  "nonce",
  "row_signature",
  "row_hotkey",
  "row_challenge",
  "beacon_randomness",
]);

/** Checks kept by `only: "proof"`. */
const PROOF_ONLY: ReadonlySet<string> = new Set([
  ...PRE_CHECKS,
  "schema_valid",
  "tokens_valid",
  "proof_valid",
  "logprobs_valid",
]);

interface RowState {
  index: number;
  row: Rollout;
  verdict: RolloutVerdict;
  preCheckFailure?: string;
  stopped: boolean;
  processingError: boolean;
  seed?: number;
  forward?: ProofForwardResult;
}

/**
 * Validates one miner's window file.
 *
 * @param rows The file's rows (as decoded, unvalidated: the schema check is part of the pipeline).
 * @param file The file's metadata `wallet` and `window_start`.
 * @param config Mode, window, model and task.
 * @returns Verdicts, metrics and copycat digests.
 * @throws {TypeError} If the tokenizer or task is missing for a full check.
 *
 * @example
 * ```ts
 * import { validateMinerFile } from "./validator_pipeline.ts";
 * import { readWindowFile } from "../net/window_file.ts";
 * import { loadCpuModel } from "../model/cpu_model.ts";
 * // The reference-written fixture: three rollouts with bf16-CUDA proofs.
 * const shared = new URL("../../../shared/fixtures/", import.meta.url).pathname;
 * const file = await readWindowFile(`${shared}window/qwen3-tiny-window.parquet`);
 * const model = await loadCpuModel(`${shared}qwen3-tiny`);
 * const result = await validateMinerFile(file.rollouts, file, {
 *   mode: "compat",
 *   only: "proof",
 *   minerHotkey: file.wallet,
 *   model,
 *   selection: "all",
 *   window: {
 *     windowStart: file.windowStart,
 *     blockHash: file.rollouts[0].block_hash,
 *     challengeRandomness: "ab".repeat(32),
 *   },
 * });
 * model.dispose();
 * // Rollout 0 has a 28-token completion (v5 needs 32); 1 and 2 verify.
 * const verdicts = result.rollouts.map((v) => v.verdict).join();
 * if (verdicts !== "fail,pass,pass") throw new Error(verdicts);
 * ```
 */
export async function validateMinerFile(
  rows: readonly Rollout[],
  file: { wallet: string; windowStart: number },
  config: MinerValidationConfig,
): Promise<MinerValidationResult> {
  const full = config.only !== "proof";
  if (full && (config.tokenizer === undefined || config.task === undefined)) {
    throw new TypeError(
      'Cannot run the full pipeline without a tokenizer and task; pass both or only: "proof"',
    );
  }
  const g = config.task?.generation;
  if (full && config.logits === undefined && (g!.temperature !== 1 || g!.repetitionPenalty !== 1)) {
    throw new TypeError(
      `Cannot run the distribution check at temperature ${g!.temperature} / repetition penalty ${
        g!.repetitionPenalty
      } without logits rows; pass config.logits (loadLogitsSource(modelDir))`,
    );
  }
  const notes: string[] = [];
  const digestCounts = completionDigestCounts(rows.map(digestInput));
  const structure = checkWindowFileStructure(
    { wallet: file.wallet, windowStart: file.windowStart, rows: rows as never },
    {
      hotkey: config.minerHotkey,
      window: config.window.windowStart,
      windowHash: config.window.blockHash,
    },
  );
  const fileFailure = structure.ok ? undefined : structure.reason;
  if (fileFailure !== undefined && config.stopAtHardFailure) {
    // The reference bans the miner for an invalid file without looking at its rows.
    return {
      mode: config.mode,
      fileFailure,
      rollouts: [],
      checkedIndices: [],
      metrics: invalidFileMetrics(fileFailure),
      digestCounts,
      notes,
    };
  }
  const selection = config.selection === "all" || fileFailure !== undefined
    ? rows.map((_, i) => i)
    : selectRolloutsToCheck(rows as never, config.minerHotkey, config.window.challengeRandomness)
      .indices;
  const expectedBeacon = config.window.beaconRandomness ?? strictFileBeacon(rows, notes, config);

  const states: RowState[] = selection.map((index) => ({
    index,
    row: rows[index],
    verdict: {
      index,
      hotkey: typeof rows[index]?.hotkey === "string" ? rows[index].hotkey : "",
      group: rows[index]?.rollout_group,
      verdict: "pass",
      failed: [],
      hardFailure: false,
      checks: {},
      reasons: {},
    },
    stopped: false,
    processingError: false,
  }));
  const seenNonces = new Set<string>();
  const stopEarly = config.stopAtHardFailure === true;
  // Stage 1: the cheap checks, in order, up to the prompt.
  for (const s of states) {
    guard(s, config, () => {
      preChecks(s, config, seenNonces, expectedBeacon);
      if (!s.stopped) schemaAndTokens(s, config);
      if (!s.stopped && full) attempt(s, "env_prompt_valid", true, () => promptCheck(s, config));
    });
    if (stopEarly && s.verdict.hardFailure) break;
  }
  // Stages 2 and 3, one sub-batch of 16 at a time (spec §5.5): the proof forward of the rows still
  // standing, then the model-dependent checks in row order. Hidden states are dropped after each
  // sub-batch, so memory does not grow with the file. With stopEarly the live rows all precede
  // the first stage-1 failure, so failures keep their row order.
  const firstStage1 = states.findIndex((s) => s.verdict.hardFailure);
  const live = states.filter((s, i) =>
    !s.stopped && !s.processingError && (!stopEarly || firstStage1 < 0 || i < firstStage1)
  );
  let halted = false;
  for (let i = 0; i < live.length && !halted; i += PROOF_BATCH_SIZE) {
    const batch = live.slice(i, i + PROOF_BATCH_SIZE);
    await forwardBatch(batch, config, notes);
    for (const s of batch) {
      guard(s, config, () => modelChecks(s, config, full));
      s.forward = undefined;
      if (stopEarly && s.verdict.hardFailure) {
        halted = true;
        break;
      }
    }
  }
  if (stopEarly) {
    // The reference stops at the first hard failure: later rows are not visited.
    const first = states.findIndex((s) => s.verdict.hardFailure);
    if (first >= 0) states.splice(first + 1);
  }

  const checkedRows: CheckedRow[] = [];
  for (const s of states) {
    const v = s.verdict;
    v.verdict = v.failed.length === 0 ? "pass" : "fail";
    checkedRows.push(toCheckedRow(s, full));
  }
  const metrics = fileFailure !== undefined
    ? invalidFileMetrics(fileFailure)
    : aggregateMinerRows(checkedRows, rows.length, selection.length, {
      groupCheck: { mode: config.mode },
    });
  if (!full && fileFailure === undefined) {
    notes.push(
      "only proof checks ran: prompt, termination, environment, reward and distribution checks skipped",
    );
  }
  return {
    mode: config.mode,
    fileFailure,
    rollouts: states.map((s) => s.verdict),
    checkedIndices: selection,
    metrics,
    digestCounts,
    notes,
  };
}

function digestInput(r: Rollout): { tokens: readonly number[]; promptLength: number } {
  const tokens = Array.isArray(r?.commit?.tokens) ? r.commit.tokens : [];
  const pl = r?.commit?.rollout?.prompt_length;
  return { tokens, promptLength: typeof pl === "number" ? pl : 0 };
}

/** Strict without the window's value: one beacon for the whole file, or nothing matches. */
function strictFileBeacon(
  rows: readonly Rollout[],
  notes: string[],
  config: MinerValidationConfig,
): string | undefined {
  if (config.mode !== "strict") return undefined;
  notes.push(
    "window beacon randomness not supplied: beacons checked for one value per file only",
  );
  const first = rows[0]?.commit?.beacon?.randomness;
  return typeof first === "string" ? first : undefined;
}

function record(s: RowState, check: string, ok: boolean, hard: boolean, reason?: string): boolean {
  s.verdict.checks[check] = ok;
  if (!ok) {
    s.verdict.failed.push(check);
    if (reason !== undefined) s.verdict.reasons[check] = reason;
    if (hard) {
      s.verdict.hardFailure = true;
      s.stopped = true;
    }
  }
  return ok;
}

/**
 * An error in the row loop outside any check: compat keeps the reference's skip ("processing
 * error", no penalty, spec §5.10); strict fails the row.
 */
function guard(s: RowState, config: MinerValidationConfig, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).slice(0, 200);
    if (config.mode === "compat") {
      // Reference quirk (spec §5.10, §9.8): an exception is a processing error, not a failure.
      s.processingError = true;
      s.stopped = true;
      s.verdict.failed.push("processing_error");
      s.verdict.reasons.processing_error = why;
    } else {
      record(s, "processing_error", false, true, why);
      s.preCheckFailure ??= "processing_error";
    }
  }
}

function preChecks(
  s: RowState,
  config: MinerValidationConfig,
  seenNonces: Set<string>,
  expectedBeacon: string | undefined,
): void {
  const { row } = s;
  const w = config.window;
  const fail = (check: string, reason: string) => {
    record(s, check, false, true, reason);
    s.preCheckFailure ??= check;
  };
  if (w.checkpointWindow !== undefined && row.checkpoint_window !== w.checkpointWindow) {
    return fail("checkpoint_window", `${row.checkpoint_window} ≠ ${w.checkpointWindow}`);
  }
  if (row.window_start !== w.windowStart) {
    return fail("window_start", `${row.window_start} ≠ ${w.windowStart}`);
  }
  if (row.block_hash !== w.blockHash) {
    return fail("block_hash", `${row.block_hash} ≠ ${w.blockHash}`);
  }
  const nonce = String(row.nonce);
  if (seenNonces.has(nonce)) return fail("nonce", `duplicate nonce ${nonce}`);
  seenNonces.add(nonce);
  if (!rowSignatureOk(row)) {
    return fail("row_signature", "signature over the challenge does not verify for the row hotkey");
  }
  if (config.mode !== "strict") return;
  if (row.hotkey !== config.minerHotkey) {
    return fail("row_hotkey", `row hotkey ${row.hotkey} is not the miner ${config.minerHotkey}`);
  }
  const index = row.rollout_index;
  if (
    !Number.isInteger(index) || index < 0 || index >= ROLLOUTS_PER_PROBLEM ||
    row.total_in_group !== ROLLOUTS_PER_PROBLEM ||
    row.rollout_group * ROLLOUTS_PER_PROBLEM + index !== row.nonce
  ) {
    return fail(
      "nonce",
      `nonce ${row.nonce}, index ${index} of ${row.total_in_group}: expected group ${row.rollout_group} × 16 + index, index < 16 of 16`,
    );
  }
  if (row.challenge !== rolloutChallenge(w.blockHash, row.nonce)) {
    return fail("row_challenge", `challenge ${JSON.stringify(String(row.challenge).slice(0, 90))}`);
  }
  const beacon = row.commit?.beacon?.randomness;
  if (expectedBeacon === undefined || beacon !== expectedBeacon || row.randomness !== beacon) {
    return fail(
      "beacon_randomness",
      `beacon ${String(beacon).slice(0, 16)}… is not the window's ${
        String(expectedBeacon).slice(0, 16)
      }…`,
    );
  }
}

/** An undecodable hotkey or signature is a signature that does not verify, not a crash. */
function rowSignatureOk(row: Rollout): boolean {
  try {
    return verifyRolloutSignature(row);
  } catch {
    return false;
  }
}

function schemaAndTokens(s: RowState, config: MinerValidationConfig): void {
  const schema = checkCommitSchema(s.row.commit);
  let ok = schema.ok;
  let reason = schema.errors.slice(0, 3).join("; ");
  if (ok && config.mode === "strict") {
    try {
      parseRollout(s.row);
    } catch (e) {
      ok = false;
      reason = e instanceof Error ? e.message : String(e);
    }
  }
  if (!record(s, "schema_valid", ok, true, reason)) return;
  const t = checkTokens(s.row.commit.tokens, {
    vocabSize: config.model.vocabSize,
    maxContextLength: config.model.config.maxPositionEmbeddings,
  });
  record(s, "tokens_valid", t.ok, true, t.ok ? undefined : `${t.reason} at ${t.index ?? "-"}`);
}

function promptCheck(s: RowState, config: MinerValidationConfig): boolean {
  const c = s.row.commit;
  const seed = deriveEnvSeed(
    config.minerHotkey,
    config.window.blockHash,
    Number(s.row.rollout_group),
  );
  s.seed = seed;
  const canonical = buildPromptIds(config.task!, seed, config.tokenizer!);
  const pl = c.rollout.prompt_length;
  const ok = pl === canonical.length &&
    pl + c.rollout.completion_length === c.tokens.length &&
    canonical.every((t, i) => c.tokens[i] === t);
  return record(
    s,
    "env_prompt_valid",
    ok,
    true,
    ok ? undefined : "prompt tokens differ from the canonical prompt",
  );
}

async function forwardBatch(
  batch: RowState[],
  config: MinerValidationConfig,
  notes: string[],
): Promise<void> {
  const eos = config.tokenizer?.eosTokenId ?? null;
  const seqs = batch.map((s) => s.row.commit.tokens);
  const options = eos === null ? {} : {
    eosTokenId: eos,
    eosPositions: seqs.map((t) => (t.length >= 2 ? [t.length - 2] : [])),
  };
  try {
    const out = await config.model.proofForward(seqs, options);
    batch.forEach((s, j) => (s.forward = out[j]));
  } catch (e) {
    // Spec §5.5: a failed batch leaves no cache; each row is then run alone.
    notes.push(`batched forward failed (${oneLineError(e).slice(0, 120)}); rows run alone`);
    for (const s of batch) {
      const single = eos === null ? {} : {
        eosTokenId: eos,
        eosPositions: [s.row.commit.tokens.length >= 2 ? [s.row.commit.tokens.length - 2] : []],
      };
      try {
        s.forward = (await config.model.proofForward([s.row.commit.tokens], single))[0];
      } catch (e2) {
        // The forward belongs to the proof check: its failure fails that check.
        record(s, "proof_valid", false, true, `forward failed: ${oneLineError(e2).slice(0, 160)}`);
      }
    }
  }
}

function oneLineError(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ");
}

function modelChecks(s: RowState, config: MinerValidationConfig, full: boolean): void {
  if (s.stopped || s.forward === undefined) return;
  const c = s.row.commit;
  const r = c.rollout;
  const fwd = s.forward;
  if (!attempt(s, "proof_valid", true, () => proofCheck(s, config))) return;
  if (full) {
    const task = config.task!;
    const tok = config.tokenizer!;
    const termOk = attempt(s, "termination_valid", true, () => {
      const term = checkTermination({
        completionLength: r.completion_length,
        lastToken: c.tokens[c.tokens.length - 1],
        eosTokenId: tok.eosTokenId,
        eosProbability: () => fwd.eosProbs?.[0] ?? NaN,
        maxTokens: task.generation.maxNewTokens,
      });
      return record(s, "termination_valid", term.ok, true, term.ok ? undefined : term.reason);
    });
    if (!termOk) return;
    // Spec §5.6 #6: the environment check passes unless evaluating the completion throws.
    let env: { reward: number; success: boolean } | undefined;
    const envOk = attempt(s, "env_eval_valid", true, () => {
      const completion = c.tokens.slice(r.prompt_length, r.prompt_length + r.completion_length);
      env = evaluateCompletion(task, s.seed!, completion, tok);
      return record(s, "env_eval_valid", true, true);
    });
    if (!envOk || env === undefined) return;
    const rewardOk = checkReward(r.total_reward, env.reward);
    record(
      s,
      "reward_valid",
      rewardOk,
      false,
      rewardOk ? undefined : `claimed ${r.total_reward}, env ${env.reward}`,
    );
  }
  if (!attempt(s, "logprobs_valid", true, () => logprobCheck(s, config))) return;
  if (full) attempt(s, "token_distribution_valid", false, () => distributionCheck(s, config));
}

/**
 * Runs one check; a check that throws fails (spec §5.6: "a validator that throws ⇒ treated as a
 * hard failure of that check"), unlike an error in the row loop itself (see `guard`).
 */
function attempt(s: RowState, check: string, hard: boolean, fn: () => boolean | void): boolean {
  try {
    const ok = fn();
    return ok !== false && s.verdict.checks[check] !== false;
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).slice(0, 200);
    return record(s, check, false, hard, `threw: ${why}`);
  }
}

function proofCheck(s: RowState, config: MinerValidationConfig): boolean {
  const c = s.row.commit;
  const r = c.rollout;
  const fail = (reason: string) => record(s, "proof_valid", false, true, reason);
  if (!ACCEPTED_PROOF_VERSIONS.includes(c.proof_version)) {
    return fail(`proof_version ${c.proof_version}`);
  }
  if (c.commitments.length !== c.tokens.length) {
    return fail("commitments and tokens differ in length");
  }
  if (r.completion_length < CHALLENGE_K) {
    return fail(`completion of ${r.completion_length} < ${CHALLENGE_K} tokens`);
  }
  // The binding is checked against the miner whose file this is (spec §4.3), in both modes.
  if (!verifyCommitSignature(c, config.minerHotkey)) {
    return fail("commit binding signature does not verify for the miner");
  }
  if (Number(c.model.layer_index) !== LAYER_INDEX) {
    return fail(`layer_index ${c.model.layer_index}`);
  }
  if (
    config.mode === "strict" && config.modelName !== undefined && c.model.name !== config.modelName
  ) {
    return fail(`model ${JSON.stringify(c.model.name)} is not ${JSON.stringify(config.modelName)}`);
  }
  const coeffs = sketchCoefficients(c.beacon.randomness);
  const C = config.model.hiddenSize;
  const hidden = s.forward!.hidden;
  if (config.mode === "strict") {
    const v = checkSketchesStrict(
      hidden,
      C,
      c.commitments.map((x) => x.sketch),
      coeffs,
      r.prompt_length,
      config.policy,
    );
    return record(
      s,
      "proof_valid",
      v.ok,
      true,
      v.ok
        ? undefined
        : `sketch ${v.reason}: ${v.exact}/${v.positions} exact, max distance ${v.maxDistance}`,
    );
  }
  const idx = challengeIndicesInRange(
    c.tokens,
    config.window.challengeRandomness,
    r.prompt_length,
    r.prompt_length + r.completion_length,
    CHALLENGE_K,
  );
  const v = verifyCommitmentsAt(hidden, C, c.commitments, idx, coeffs);
  const bad = v.positions.find((p) => !p.ok);
  return record(
    s,
    "proof_valid",
    v.ok,
    true,
    bad === undefined
      ? undefined
      : `sketch distance ${bad.diff} > ${sketchTolerance(bad.position)} at ${bad.position}`,
  );
}

function logprobCheck(s: RowState, config: MinerValidationConfig): boolean {
  const c = s.row.commit;
  const r = c.rollout;
  const lp = s.forward!.nextTokenLogprobs;
  if (r.token_logprobs.length !== c.tokens.length || r.completion_length < CHALLENGE_K) {
    return record(s, "logprobs_valid", false, true, "token_logprobs has the wrong length");
  }
  if (config.mode === "strict") {
    const v = checkLogprobsStrict(lp, r.token_logprobs, r.prompt_length, config.policy);
    return record(
      s,
      "logprobs_valid",
      v.ok,
      true,
      v.ok
        ? undefined
        : `${v.reason}: max |Δ| ${v.maxAbsDiff.toFixed(4)}, median dev ${
          v.medianDeviation.toFixed(4)
        }`,
    );
  }
  const idx = challengeIndicesInRange(
    c.tokens,
    config.window.challengeRandomness,
    r.prompt_length,
    r.prompt_length + r.completion_length,
    CHALLENGE_K,
  );
  const v = checkLogprobs(idx.map((i) => lp[i - 1]), idx.map((i) => r.token_logprobs[i]));
  return record(
    s,
    "logprobs_valid",
    v.ok,
    true,
    v.ok ? undefined : `median deviation ${v.medianDeviation.toFixed(4)}`,
  );
}

function distributionCheck(s: RowState, config: MinerValidationConfig): boolean {
  const c = s.row.commit;
  const r = c.rollout;
  const g = config.task!.generation;
  const fwd = s.forward!;
  const plain = g.temperature === 1 && g.repetitionPenalty === 1;
  let probs: number[];
  if (plain) {
    probs = [];
    for (let t = r.prompt_length; t < r.prompt_length + r.completion_length; t++) {
      if (t > 0) probs.push(Math.exp(fwd.nextTokenLogprobs[t - 1]));
    }
  } else {
    if (config.logits === undefined) {
      throw new TypeError(
        "The distribution check needs logits rows (temperature or penalty ≠ 1); pass config.logits",
      );
    }
    const src = config.logits;
    probs = chosenTokenProbabilities(
      (t) => src.logitsRow(fwd.hidden, t - 1),
      c.tokens,
      r.prompt_length,
      r.completion_length,
      { temperature: g.temperature, repetitionPenalty: g.repetitionPenalty },
    );
  }
  const d = checkDistribution(probs);
  const why = d.ok
    ? undefined
    : Object.entries(d.reasons).filter(([, v]) => v).map(([k]) => k).join(",");
  return record(s, "token_distribution_valid", d.ok, false, why);
}

function toCheckedRow(s: RowState, full: boolean): CheckedRow {
  const checks: Record<string, boolean> = { ...s.verdict.checks };
  if (!full) {
    // Proof-only audits: the skipped hard checks count as passed for the aggregation.
    for (const k of HARD_CHECKS) {
      if (!(k in checks) && !s.stopped && !PROOF_ONLY.has(k)) checks[k] = true;
    }
  }
  const r = s.row?.commit?.rollout;
  const group = s.row?.rollout_group;
  return {
    preCheckFailure: s.preCheckFailure,
    groupId: group === null || group === undefined ? undefined : String(group),
    groupMember: r === undefined
      ? undefined
      : { advantage: r.advantage, totalReward: r.total_reward },
    checks,
    processingError: s.processingError,
    success: r?.success === true,
    completionDigest: s.row?.commit?.tokens
      ? completionDigest(s.row.commit.tokens, r?.prompt_length ?? 0)
      : "",
  };
}

/** One miner's validated file, as the window step needs it. */
export interface MinerWindowEntry {
  /** The pipeline's result for the miner. */
  result: MinerValidationResult;
  /** Object-store `LastModified` of the file in unix seconds (never the miner's own claim). */
  uploadTime: number | null;
}

/** The window's metrics after copycat gating. */
export interface WindowGatingResult {
  /** Hotkey → metrics (gated copiers zeroed with `had_failure = 1`). */
  metrics: Map<string, MinerWindowMetrics>;
  /** Hotkeys gated, with the scope that caught them. */
  gated: Map<string, "window" | "interval" | "unresolved">;
}

/**
 * Copycat detection over the miners of one window (spec §5.11): pairs sharing completions at or
 * above the window (5 %) or interval (3 %) threshold gate the later uploader. Strict mode also
 * gates both miners of a pair whose order cannot be told (missing or equal upload times), which
 * the reference leaves ungated.
 *
 * @param windowStart The window.
 * @param entries Hotkey → validated file and upload time.
 * @param tracker The validator's tracker (already reset to this window's interval).
 * @param mode Verification mode.
 * @returns Gated metrics per miner.
 *
 * @example
 * ```ts
 * import { gateCopycats, type MinerValidationResult } from "./validator_pipeline.ts";
 * import { CopycatTracker } from "../validation/copycat.ts";
 * const metrics = {
 *   valid: 16, checked: 16, total: 16, estimated_valid: 16, successful: 0,
 *   estimated_successful: 0, unique: 16, estimated_unique: 16, prompt_valid: 16,
 *   prompt_mismatch: 0, had_failure: 0 as const, failure_reason: null,
 * };
 * const result: MinerValidationResult = {
 *   mode: "strict", rollouts: [], checkedIndices: [], metrics, notes: [],
 *   digestCounts: new Map([["d", 16]]),
 * };
 * const tracker = new CopycatTracker();
 * tracker.resetInterval(20);
 * const { gated } = gateCopycats(7200, new Map([
 *   ["first", { result, uploadTime: 100 }],
 *   ["copier", { result, uploadTime: 130 }],
 * ]), tracker, "strict");
 * if (gated.get("copier") !== "window" || gated.has("first")) throw new Error();
 * ```
 */
export function gateCopycats(
  windowStart: number,
  entries: ReadonlyMap<string, MinerWindowEntry>,
  tracker: CopycatTracker,
  mode: VerificationMode,
): WindowGatingResult {
  const submissions = new Map<string, CopycatSubmission>();
  for (const [hotkey, e] of entries) {
    submissions.set(hotkey, {
      digestCounts: e.result.digestCounts,
      totalRollouts: e.result.metrics.total || sumCounts(e.result.digestCounts),
      uploadTime: e.uploadTime,
    });
  }
  const outcome = tracker.ingestWindow(windowStart, submissions);
  const gated = new Map<string, "window" | "interval" | "unresolved">();
  for (const h of outcome.windowCheaters) gated.set(h, "window");
  for (const h of outcome.intervalCheaters) if (!gated.has(h)) gated.set(h, "interval");
  if (mode === "strict") {
    for (const v of outcome.violations) {
      if (v.copier !== null) continue;
      for (const h of [v.minerA, v.minerB]) if (!gated.has(h)) gated.set(h, "unresolved");
    }
  }
  const metrics = new Map<string, MinerWindowMetrics>();
  for (const [hotkey, e] of entries) {
    metrics.set(
      hotkey,
      gated.has(hotkey) ? gateCopycatMetrics(e.result.metrics) : e.result.metrics,
    );
  }
  return { metrics, gated };
}

function sumCounts(counts: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const c of counts.values()) n += c;
  return n;
}
