/**
 * The long-running validator (infra spec §1.5, protocol spec §5): poll the head every 5 s; for
 * each completed window T, load the checkpoint READY before T, compute the window's randomness
 * and deadline, discover miners' files through their bucket commitments (HEAD, size ≥ 200 B,
 * `LastModified` ≤ deadline), sample miners, validate their files with the pipeline, gate
 * copycats, record metrics in the rolling scoring state, publish a trust list, and set weights
 * once per weight interval (360 blocks, after 12 processed windows; both configurable for the
 * local network).
 *
 * Resume: after each window the state file holds the last processed window, the inputs of the
 * last 14 windows (active miners, window hash, metrics) and the last weight interval. On start
 * the scoring state is rebuilt by replaying those windows, so a restart neither validates a
 * window twice nor loses the rolling history. (The copycat interval tracker restarts empty: it
 * only sharpens detection within one 360-block interval.)
 *
 * @module
 */

import type { Chain, Clock } from "../net/chain.ts";
import type { ReadCredentials } from "../net/credentials.ts";
import { trustListKey, windowFileKey } from "../net/storage.ts";
import { decodeWindowFile } from "../net/window_file.ts";
import { WindowFileError } from "../net/window_file_error.ts";
import {
  deadlineBlock,
  deadlineFromBlockTimestamp,
  isActiveWindowFile,
  validatorTargetWindow,
  WINDOW_LENGTH,
} from "../net/windows.ts";
import { convertWeightsForEmit } from "../net/weights_u16.ts";
import { invalidFileMetrics, type MinerWindowMetrics } from "../validation/aggregation.ts";
import { CopycatTracker } from "../validation/copycat.ts";
import { ScoringState } from "../validation/scoring_state.ts";
import type { WeightOptions } from "../validation/weights.ts";
import { loadLogitsSource, type LogitsSource } from "./lm_head.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import {
  type BeaconSource,
  committedBuckets,
  minerWindowBeacon,
  type RoleIdentity,
  type StoreResolver,
  trainerStore,
  validatorChallengeRandomness,
} from "./network.ts";
import type { StateFile } from "./state.ts";
import {
  gateCopycats,
  type MinerValidationResult,
  type MinerWindowEntry,
  validateMinerFile,
  type VerificationMode,
} from "./validator_pipeline.ts";
import { NoCheckpointError, type WindowModel, type WindowModelLoader } from "./window_model.ts";

/** Most bytes of a window file the validator downloads (infra spec §4.3). */
export const MAX_WINDOW_FILE_BYTES = 350 * 1024 * 1024;

/** One processed window as kept for replay. */
export interface ProcessedWindow {
  /** Target window. */
  target: number;
  /** Its block hash. */
  windowHash: string;
  /** Active miners. */
  active: string[];
  /** Metrics of the validated miners. */
  metrics: [string, MinerWindowMetrics][];
}

/** What the validator keeps on disk. */
export interface ValidatorState {
  /** Last window processed (or skipped for good), null before the first. */
  lastProcessed: number | null;
  /** The last 14 processed windows, oldest first. */
  history: ProcessedWindow[];
  /** Weight interval of the last submission (or consumed interval). */
  lastWeightsInterval: number | null;
  /** Recent submissions, newest last (at most 20). */
  weights: { block: number; interval: number; uids: number[]; weights: number[] }[];
}

/** One miner's outcome in a window report. */
export interface MinerOutcome {
  /** Hotkey. */
  hotkey: string;
  /** UID in the metagraph. */
  uid: number;
  /** `validated`, `not_found`, `invalid_file`. */
  status: "validated" | "not_found" | "invalid_file";
  /** Rows in the file. */
  total: number;
  /** Rows checked. */
  checked: number;
  /** Rows that passed. */
  passed: number;
  /** Failed rows by their first failed check. */
  rejected: Record<string, number>;
  /** Metrics after copycat gating. */
  metrics?: MinerWindowMetrics;
  /** Copycat gating scope, if gated. */
  gated?: string;
  /** Detail (file failure, error). */
  detail?: string;
  /** Time spent validating the file. */
  validationSeconds?: number;
}

/** Outcome of one window. */
export interface ValidatorWindowReport {
  /** Target window. */
  target: number;
  /** Why the window was skipped, if it was. */
  skipped?: string;
  /** Miners with an on-time file. */
  active: string[];
  /** Miners chosen for validation. */
  selected: string[];
  /** Per validated miner. */
  miners: MinerOutcome[];
  /** Weights submitted after this window, if any (floats and the u16 the chain stores). */
  weights?: {
    block: number;
    uids: number[];
    weights: number[];
    u16: { uids: number[]; weights: number[] };
  };
}

/** Everything the validator needs. */
export interface ValidatorOptions {
  /** The chain. */
  chain: Chain;
  /** Subnet. */
  netuid: number;
  /** Our hotkey. */
  identity: RoleIdentity;
  /** Buckets. */
  stores: StoreResolver;
  /** drand, or null for `--no-drand`. */
  drand: BeaconSource | null;
  /** Checkpoint loader. */
  loader: WindowModelLoader;
  /** Time source. */
  clock: Clock;
  /** Logger named `grail.validator`. */
  logger: Logger;
  /** Metrics registry. */
  metrics: Metrics;
  /** State file. */
  state: StateFile<ValidatorState>;
  /** Rules: `strict` (ours) or `compat` (the reference's v5). */
  mode: VerificationMode;
  /** Head poll interval (default 5000 ms). */
  pollMs?: number;
  /** Sleep after an unexpected error (default 60 s). */
  errorSleepMs?: number;
  /** Blocks per weight interval (default 360). */
  weightsIntervalBlocks?: number;
  /** Windows processed before the first submission (default 12). */
  minWindowsBeforeWeights?: number;
  /** Scoring options (default the reference's). */
  weightOptions?: WeightOptions;
  /** Validate only our own hotkey's file (the reference's `--test-mode`). */
  testMode?: boolean;
  /** Called with each error the loop catches (before it sleeps and retries). */
  onError?: (error: unknown) => void;
  /** Called after each window. */
  onWindow?: (report: ValidatorWindowReport) => void;
  /** Status line updates. */
  status?: (text: string) => void;
}

const HISTORY = 14;

/** Decoding failures that make a file invalid (penalised); others count as "not found". */
const INVALID_FILE_CODES: ReadonlySet<string> = new Set([
  "corrupt",
  "bad_schema",
  "null_value",
  "bad_value",
  "bad_json",
]);

/** The validator role. */
export class Validator {
  readonly #o: ValidatorOptions;
  #state: ValidatorState = {
    lastProcessed: null,
    history: [],
    lastWeightsInterval: null,
    weights: [],
  };
  #scoring = new ScoringState();
  #copycat = new CopycatTracker();
  #windowsSinceStart = 0;
  #logits: { dir: string; source: LogitsSource } | null = null;

  /**
   * Creates a validator; call `resume()` before `run()`.
   *
   * @param options See {@linkcode ValidatorOptions}.
   */
  constructor(options: ValidatorOptions) {
    this.#o = options;
  }

  /** The state as last saved or loaded. @returns A copy. */
  get state(): ValidatorState {
    return structuredClone(this.#state);
  }

  /** Loads the saved state and replays its windows into the scoring state. */
  async resume(): Promise<void> {
    const saved = await this.#o.state.load();
    if (saved === null) return;
    this.#state = saved;
    for (const w of saved.history) {
      this.#scoring.beginWindow(w.active, w.windowHash);
      this.#scoring.endWindow(w.target, new Map(w.metrics));
    }
    this.#windowsSinceStart = saved.history.length;
    this.#o.logger.info(
      `Resuming after window ${saved.lastProcessed}: replayed ${saved.history.length} windows of scoring history`,
    );
  }

  async #save(): Promise<void> {
    await this.#o.state.save(this.#state);
  }

  /**
   * Processes one completed window and, when due, sets weights.
   *
   * @param target The window T (its deadline block T+30 must exist).
   * @param head The head block (weights cadence).
   * @returns The report.
   * @throws Chain, drand or storage errors (the loop logs them and retries the window).
   */
  async processWindow(target: number, head: number): Promise<ValidatorWindowReport> {
    const o = this.#o;
    const log = o.logger;
    const t0 = o.clock.nowMs();
    o.metrics.set("grail_window", target, { role: "validator" });
    const report: ValidatorWindowReport = { target, active: [], selected: [], miners: [] };
    const mg = await o.chain.metagraph(o.netuid);
    const uidOf = new Map(mg.hotkeys.map((h, i) => [h, mg.uids[i]]));
    let wm: WindowModel;
    try {
      const t = await o.loader.forWindow(await trainerStore(o.chain, o.netuid, o.stores), target);
      wm = t.model;
    } catch (e) {
      if (!(e instanceof NoCheckpointError)) throw e;
      log.warning(`Window ${target} skipped: ${e.message}`);
      report.skipped = e.message;
      o.metrics.inc("grail_windows_total", { role: "validator", outcome: "skipped" });
      this.#state.lastProcessed = target;
      await this.#save();
      o.onWindow?.(report);
      return report;
    }
    const windowHash = await o.chain.blockHash(target);
    const challenge = await validatorChallengeRandomness(o.chain, o.drand, target);
    const expectedBeacon = (await minerWindowBeacon(o.chain, o.drand, target)).randomness;
    const deadline = deadlineFromBlockTimestamp(
      (await o.chain.blockTimestampMs(deadlineBlock(target))) / 1000,
    );
    // Discovery (infra spec §4.4): HEAD each committed bucket's file for T.
    const buckets = await committedBuckets(o.chain, o.netuid);
    const candidates = o.testMode ? [o.identity.hotkey] : mg.hotkeys;
    const uploads = new Map<string, { creds: ReadCredentials; lastModified: Date }>();
    for (const hotkey of candidates) {
      const creds = buckets.get(hotkey);
      if (creds === undefined) continue;
      // Infra spec §4.4: a failed HEAD counts as "no file" (no penalty), as in the reference.
      const info = await o.stores.reader(creds).head(windowFileKey(hotkey, target)).catch((e) => {
        log.debug(
          `HEAD of ${hotkey.slice(0, 8)}'s window ${target} file failed: ${(e as Error).message}`,
        );
        return null;
      });
      if (info === null) continue;
      if (!isActiveWindowFile(info, deadline)) {
        log.warning(
          `[MINER uid=${
            uidOf.get(hotkey)
          } window=${target}] LATE UPLOAD or bad size (${info.sizeBytes} B, ${info.lastModified.toISOString()})`,
        );
        o.metrics.inc("grail_miner_files_total", { outcome: "late_or_small" });
        continue;
      }
      uploads.set(hotkey, { creds, lastModified: info.lastModified });
    }
    report.active = [...uploads.keys()];
    log.info(`Found ${report.active.length}/${candidates.length} active miners`);
    report.selected = this.#scoring.beginWindow(report.active, windowHash);
    const logits = await this.#logitsFor(wm);
    const entries = new Map<string, MinerWindowEntry>();
    const outcomes = new Map<string, MinerOutcome>();
    for (const hotkey of report.selected) {
      const uid = uidOf.get(hotkey) ?? -1;
      o.status?.(
        `window ${target}: validating uid ${uid} (${entries.size + 1}/${report.selected.length})`,
      );
      const up = uploads.get(hotkey)!;
      const outcome: MinerOutcome = {
        hotkey,
        uid,
        status: "validated",
        total: 0,
        checked: 0,
        passed: 0,
        rejected: {},
      };
      outcomes.set(hotkey, outcome);
      const v0 = o.clock.nowMs();
      const key = windowFileKey(hotkey, target);
      let result: MinerValidationResult;
      try {
        const bytes = await o.stores.reader(up.creds).get(key);
        if (bytes.length > MAX_WINDOW_FILE_BYTES) {
          throw new Error(`${key} is ${bytes.length} bytes, over ${MAX_WINDOW_FILE_BYTES}`);
        }
        const file = decodeWindowFile(bytes, key, { validateRows: false });
        result = await validateMinerFile(file.rollouts, file, {
          mode: o.mode,
          minerHotkey: hotkey,
          window: {
            windowStart: target,
            blockHash: windowHash,
            challengeRandomness: challenge,
            beaconRandomness: o.mode === "strict" ? expectedBeacon : undefined,
            checkpointWindow: wm.checkpointWindow,
          },
          model: wm.model,
          modelName: wm.modelName,
          tokenizer: wm.tokenizer,
          task: wm.task,
          logits,
        });
      } catch (e) {
        const code = e instanceof WindowFileError ? e.code : "error";
        if (INVALID_FILE_CODES.has(code)) {
          outcome.status = "invalid_file";
          outcome.detail = `file:${code}`;
          entries.set(hotkey, {
            result: {
              mode: o.mode,
              fileFailure: code,
              rollouts: [],
              checkedIndices: [],
              metrics: invalidFileMetrics(code === "corrupt" ? "corrupt_parquet" : code),
              digestCounts: new Map(),
              notes: [],
            },
            uploadTime: up.lastModified.getTime() / 1000,
          });
        } else {
          outcome.status = "not_found";
          outcome.detail = (e as Error).message.slice(0, 200);
        }
        o.metrics.inc("grail_miner_files_total", { outcome: outcome.status });
        log.warning(
          `[MINER uid=${uid} window=${target}] ${outcome.status}: ${
            (e as Error).message.slice(0, 200)
          }`,
        );
        continue;
      }
      const sec = (o.clock.nowMs() - v0) / 1000;
      o.metrics.observe("grail_validation_seconds", sec);
      if (result.fileFailure !== undefined) {
        outcome.status = "invalid_file";
        outcome.detail = `file:${result.fileFailure}`;
      }
      outcome.total = result.metrics.total;
      outcome.checked = result.rollouts.length;
      for (const v of result.rollouts) {
        if (v.verdict === "pass") {
          outcome.passed++;
          o.metrics.inc("grail_rollouts_verified_total");
        } else {
          const reason = v.failed[0] ?? "unknown";
          outcome.rejected[reason] = (outcome.rejected[reason] ?? 0) + 1;
          o.metrics.inc("grail_rollouts_rejected_total", { reason });
        }
      }
      o.metrics.inc("grail_miner_files_total", { outcome: outcome.status });
      log.info(
        `[MINER uid=${uid} window=${target}] Found valid file for miner ${
          hotkey.slice(0, 8)
        } (uploaded ${
          Math.round(deadline - up.lastModified.getTime() / 1000)
        }s before deadline): ${outcome.passed}/${outcome.checked} rollouts pass`,
      );
      entries.set(hotkey, { result, uploadTime: up.lastModified.getTime() / 1000 });
      outcome.validationSeconds = sec;
    }
    this.#copycat.resetInterval(Math.floor(target / 360));
    const gating = gateCopycats(target, entries, this.#copycat, o.mode);
    const verdictLog = log.child("grail.validator.verdict");
    for (const [hotkey, m] of gating.metrics) {
      const out = outcomes.get(hotkey)!;
      out.metrics = m;
      const g = gating.gated.get(hotkey);
      if (g !== undefined) out.gated = g;
      verdictLog.event("verdict", {
        window: target,
        uid: out.uid,
        hotkey_short: hotkey.slice(0, 8),
        found_file: true,
        valid_count: m.valid,
        checked_count: m.checked,
        total_inferences: m.total,
        estimated_unique: m.estimated_unique,
        estimated_successful: m.estimated_successful,
        success_rate: m.checked > 0 ? m.successful / m.checked : 0,
        failure_flag: m.had_failure,
        failure_reason: m.failure_reason,
        prompt_mismatch_count: m.prompt_mismatch,
        validation_sec: Math.round((out.validationSeconds ?? 0) * 1000) / 1000,
      });
    }
    report.miners = [...outcomes.values()];
    this.#scoring.endWindow(target, gating.metrics);
    await this.#publishTrustList(target, report, gating.metrics);
    this.#windowsSinceStart++;
    this.#state.history.push({
      target,
      windowHash,
      active: report.active,
      metrics: [...gating.metrics],
    });
    this.#state.history = this.#state.history.slice(-HISTORY);
    this.#state.lastProcessed = target;
    report.weights = await this.#maybeSetWeights(target, head, mg.hotkeys, mg.uids);
    await this.#save();
    await o.loader.prune(target, o.clock.nowMs()).catch((e) =>
      log.warning(`Checkpoint cache not pruned: ${(e as Error).message}`)
    );
    o.metrics.inc("grail_windows_total", { role: "validator", outcome: "processed" });
    log.info(`Window ${target} processed in ${((o.clock.nowMs() - t0) / 1000).toFixed(1)}s`);
    o.onWindow?.(report);
    return report;
  }

  async #logitsFor(wm: WindowModel): Promise<LogitsSource | undefined> {
    const g = wm.task.generation;
    if (g.temperature === 1 && g.repetitionPenalty === 1) return undefined;
    if (this.#logits?.dir !== wm.dir) {
      this.#logits = { dir: wm.dir, source: await loadLogitsSource(wm.dir) };
    }
    return this.#logits.source;
  }

  async #publishTrustList(
    target: number,
    report: ValidatorWindowReport,
    metrics: ReadonlyMap<string, MinerWindowMetrics>,
  ): Promise<void> {
    const failedRecently = new Set<string>();
    for (const w of this.#state.history) {
      for (const [hk, m] of w.metrics) if (m.had_failure) failedRecently.add(hk);
    }
    for (const [hk, m] of metrics) if (m.had_failure) failedRecently.add(hk);
    const eligible = report.active.filter((h) => !failedRecently.has(h));
    const body = {
      version: 1,
      window: target,
      timestamp: this.#o.clock.nowMs() / 1000,
      validator_hotkey: this.#o.identity.hotkey,
      eligible_hotkeys: eligible,
      active_count: report.active.length,
      excluded_failure_count: report.active.length - eligible.length,
    };
    try {
      await this.#o.stores.own.put(
        trustListKey(target),
        new TextEncoder().encode(JSON.stringify(body, null, 1)),
      );
    } catch (e) {
      // Infra spec §4.5: trust-list failures are not fatal.
      this.#o.logger.warning(
        `Trust list for window ${target} not published: ${(e as Error).message}`,
      );
    }
  }

  async #maybeSetWeights(
    target: number,
    head: number,
    hotkeys: readonly string[],
    uids: readonly number[],
  ): Promise<ValidatorWindowReport["weights"]> {
    const o = this.#o;
    const intervalBlocks = o.weightsIntervalBlocks ?? 360;
    const interval = Math.floor(head / intervalBlocks);
    if (this.#state.lastWeightsInterval !== null && interval <= this.#state.lastWeightsInterval) {
      return undefined;
    }
    this.#state.lastWeightsInterval = interval;
    if (this.#windowsSinceStart < (o.minWindowsBeforeWeights ?? 12)) {
      o.logger.info(
        `Weight interval ${interval} consumed without submission: ${this.#windowsSinceStart} windows processed, need ${
          o.minWindowsBeforeWeights ?? 12
        }`,
      );
      return undefined;
    }
    const result = this.#scoring.weights(hotkeys, uids, target, o.weightOptions);
    const u16 = convertWeightsForEmit(uids, result.weights);
    try {
      const receipt = await o.chain.setWeights(o.netuid, o.identity.pair, uids, result.weights);
      o.metrics.inc("grail_weights_set_total", { outcome: "ok" });
      for (let i = 0; i < uids.length; i++) {
        o.metrics.set("grail_weight", result.weights[i], { uid: String(uids[i]) });
      }
      o.logger.info(`Submitted weights for interval ${interval} at block ${receipt.block}`);
      const burnIndex = uids.indexOf(0);
      if (burnIndex >= 0) {
        o.logger.info(`Burn: ${(result.weights[burnIndex] * 100).toFixed(2)}% to UID 0`);
      }
      const lb = o.logger.child("grail.leaderboard");
      const ranked = uids.map((uid, i) => ({ uid, i, w: result.weights[i] }))
        .filter((x) => x.w > 0 && x.uid !== 0)
        .sort((a, b) => b.w - a.w);
      ranked.forEach((x, rank) => {
        lb.event("leaderboard", {
          rank: rank + 1,
          uid: x.uid,
          weight: x.w,
          interval,
          block: receipt.block,
          hotkey_short: hotkeys[x.i].slice(0, 8),
        });
      });
      this.#state.weights.push({
        block: receipt.block,
        interval,
        uids: [...uids],
        weights: result.weights,
      });
      this.#state.weights = this.#state.weights.slice(-20);
      return {
        block: receipt.block,
        uids: [...uids],
        weights: result.weights,
        u16: { uids: u16.uids, weights: u16.weights },
      };
    } catch (e) {
      o.metrics.inc("grail_weights_set_total", { outcome: "failed" });
      o.logger.error(`set_weights failed for interval ${interval}: ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * The loop: until `signal` aborts, process each completed window once.
   *
   * @param signal Graceful stop: the current window finishes or is retried after restart.
   */
  async run(signal: AbortSignal): Promise<void> {
    const o = this.#o;
    while (!signal.aborted) {
      try {
        const head = await o.chain.currentBlock();
        o.metrics.set("grail_head_block", head);
        const target = validatorTargetWindow(head);
        const last = this.#state.lastProcessed;
        if (target === null || (last !== null && target <= last)) {
          const next = last === null ? WINDOW_LENGTH : last + 2 * WINDOW_LENGTH;
          o.status?.(
            `head ${head}: waiting for block ${next} to validate window ${next - WINDOW_LENGTH}`,
          );
          await o.clock.sleep(o.pollMs ?? 5000, signal);
          continue;
        }
        await this.processWindow(target, head);
      } catch (e) {
        if (signal.aborted) break;
        o.metrics.inc("grail_errors_total", { role: "validator", stage: "window" });
        o.onError?.(e);
        o.logger.error(`Validator loop error: ${(e as Error).stack ?? e}`);
        await o.clock.sleep(o.errorSleepMs ?? 60_000, signal).catch(() => undefined);
      }
    }
  }
}
