/**
 * The long-running miner (infra spec §1.3): poll the head every 2 s; at each new window load the
 * checkpoint READY before it, derive the window's randomness, mine GRPO groups while the time
 * budget (EMA of block time, generation and upload, plus safety blocks) allows, and upload one
 * window file before the deadline. State (last window done, recent uploads) is saved after each
 * window, so a restart neither mines a finished window again nor forgets an upload.
 *
 * @module
 */

import type { Chain, Clock } from "../net/chain.ts";
import { putWindowFile } from "../net/window_file.ts";
import {
  blocksRemaining,
  generationFinishedSafely,
  hasTimeForNextGeneration,
  initialMinerTimeBudget,
  MINER_SAFETY_BLOCKS,
  type MinerTimeBudget,
  neededBlocks,
  observeBlockTime,
  observeGeneration,
  observeUpload,
  windowStart,
} from "../net/windows.ts";
import { SeededRandom } from "../model/seeded_random.ts";
import type { Rollout } from "../protocol/rollout.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import { mineGroup, type MinerPipelineConfig, type MinerWindow } from "./miner_pipeline.ts";
import {
  type BeaconSource,
  minerWindowBeacon,
  type RoleIdentity,
  sha256Hex,
  type StoreResolver,
  trainerStore,
} from "./network.ts";
import type { StateFile } from "./state.ts";
import { NoCheckpointError, type WindowModel, type WindowModelLoader } from "./window_model.ts";

/** What the miner keeps on disk. */
export interface MinerState {
  /** Last window finished (uploaded, skipped or out of time); null before the first. */
  lastWindow: number | null;
  /** The most recent uploads, newest last (at most 50). */
  uploads: { window: number; key: string; rollouts: number; uploadedAtMs: number }[];
}

/** Outcome of one window. */
export interface MinerWindowReport {
  /** Window start. */
  window: number;
  /** What happened. */
  status: "uploaded" | "no_checkpoint" | "no_time" | "empty" | "upload_failed";
  /** Rollouts uploaded (0 unless uploaded). */
  rollouts: number;
  /** Mean `total_reward` of the rollouts uploaded (only when uploaded). */
  meanReward?: number;
  /** Groups mined and kept. */
  groups: number;
  /** Groups dropped, by reason. */
  dropped: Record<string, number>;
  /** Upload latency in seconds, when uploaded. */
  uploadSeconds?: number;
  /** Object key, when uploaded. */
  key?: string;
  /** Detail for a skipped or failed window. */
  detail?: string;
}

/** Context given to {@linkcode MinerOptions.transform}. */
export interface MinerTransformContext {
  /** The window as mined. */
  window: MinerWindow;
  /** The miner's identity (to re-sign forged rows). */
  identity: RoleIdentity;
  /** The model in use. */
  model: WindowModel;
  /** The role's clock (to poll without real sleeps). */
  clock: Clock;
  /** The chain (to find other miners' files). */
  chain: Chain;
  /** Subnet. */
  netuid: number;
  /** The role's stores. */
  stores: StoreResolver;
}

/** Everything the miner needs; bin/ and the devnet build it. */
export interface MinerOptions {
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
  /** Checkpoint loader (owns the model). */
  loader: WindowModelLoader;
  /** Time source. */
  clock: Clock;
  /** Logger named `grail.miner`. */
  logger: Logger;
  /** Metrics registry (declared with `declareRoleMetrics`). */
  metrics: Metrics;
  /** State file. */
  state: StateFile<MinerState>;
  /** Seed of the sampling randomness (mixed with hotkey and window). */
  samplingSeed: number;
  /** Head poll interval (default 2000 ms, the reference's). */
  pollMs?: number;
  /** Sleep after an unexpected error (default 10 s). */
  errorSleepMs?: number;
  /** `GRAIL_MINER_SAFETY_BLOCKS` (default 3). */
  safetyBlocks?: number;
  /** Most groups per window (default unlimited: the time budget decides). */
  maxGroupsPerWindow?: number;
  /** Stop the loop once this window is finished (the devnet's last window); default never. */
  stopAfterWindow?: number;
  /** Devnet hook: rewrites the rows before upload (the configurable cheater). */
  transform?: (rollouts: Rollout[], ctx: MinerTransformContext) => Promise<Rollout[]>;
  /** Called with each error the loop catches (before it sleeps and retries). */
  onError?: (error: unknown) => void;
  /** Called after each window. */
  onWindow?: (report: MinerWindowReport) => void;
  /** Status line updates. */
  status?: (text: string) => void;
}

/** The miner role. */
export class Miner {
  readonly #o: MinerOptions;
  #state: MinerState = { lastWindow: null, uploads: [] };
  #budget: MinerTimeBudget = initialMinerTimeBudget();
  #lastHead: { block: number; ms: number } | null = null;
  #ckptLog: Logger;
  #timingLog: Logger;

  /**
   * Creates a miner; call `resume()` before `run()`.
   *
   * @param options See {@linkcode MinerOptions}.
   */
  constructor(options: MinerOptions) {
    this.#o = options;
    this.#ckptLog = options.logger.child("grail.miner.checkpoint");
    this.#timingLog = options.logger.child("grail.miner.timing");
  }

  /** The state as last saved or loaded. @returns A copy. */
  get state(): MinerState {
    return structuredClone(this.#state);
  }

  /** Loads the saved state (call once before `run`). */
  async resume(): Promise<void> {
    const saved = await this.#o.state.load();
    if (saved !== null) {
      this.#state = saved;
      this.#o.logger.info(
        `Resuming after window ${saved.lastWindow} (${saved.uploads.length} uploads on record)`,
      );
    }
  }

  async #head(): Promise<number> {
    const head = await this.#o.chain.currentBlock();
    const ms = this.#o.clock.nowMs();
    if (this.#lastHead !== null && head > this.#lastHead.block) {
      this.#budget = observeBlockTime(
        this.#budget,
        (ms - this.#lastHead.ms) / 1000,
        head - this.#lastHead.block,
      );
    }
    if (this.#lastHead === null || head !== this.#lastHead.block) {
      this.#lastHead = { block: head, ms };
    }
    this.#o.metrics.set("grail_head_block", head);
    return head;
  }

  async #finish(report: MinerWindowReport): Promise<MinerWindowReport> {
    this.#state.lastWindow = report.window;
    if (report.status === "uploaded") {
      this.#state.uploads.push({
        window: report.window,
        key: report.key!,
        rollouts: report.rollouts,
        uploadedAtMs: this.#o.clock.nowMs(),
      });
      this.#state.uploads = this.#state.uploads.slice(-50);
    }
    await this.#o.state.save(this.#state);
    await this.#o.loader.prune(report.window, this.#o.clock.nowMs()).catch((e) =>
      this.#o.logger.warning(`Checkpoint cache not pruned: ${(e as Error).message}`)
    );
    this.#o.metrics.inc("grail_windows_total", { role: "miner", outcome: report.status });
    this.#o.onWindow?.(report);
    return report;
  }

  /**
   * Mines one window: checkpoint, randomness, groups within the budget, upload.
   *
   * @param window Window start W.
   * @param signal Stops between groups.
   * @returns What happened.
   * @throws Chain, drand or storage errors other than a failed upload (the loop logs them).
   */
  async mineWindow(window: number, signal?: AbortSignal): Promise<MinerWindowReport> {
    const o = this.#o;
    const log = o.logger;
    o.metrics.set("grail_window", window, { role: "miner" });
    const base = { window, rollouts: 0, groups: 0, dropped: {} as Record<string, number> };
    let wm: WindowModel;
    try {
      const store = await trainerStore(o.chain, o.netuid, o.stores);
      const t = await o.loader.forWindow(store, window);
      wm = t.model;
      this.#ckptLog.event("checkpoint", {
        window,
        method: t.loaded ? "full" : "none",
        success: true,
        is_fast_path: !t.loaded,
        prev_window: wm.checkpointWindow,
        load_sec: round3(t.loadSeconds),
      });
    } catch (e) {
      if (!(e instanceof NoCheckpointError)) throw e;
      log.warning(`Skipping window ${window}: ${e.message}`);
      return await this.#finish({ ...base, status: "no_checkpoint", detail: e.message });
    }
    let head = await this.#head();
    if (!hasTimeForNextGeneration(this.#budget, window, head, o.safetyBlocks)) {
      const detail = `${blocksRemaining(window, head)} blocks remain, need ${
        neededBlocks(this.#budget, o.safetyBlocks)
      }`;
      log.info(`Window ${window}: not enough time (${detail})`);
      return await this.#finish({ ...base, status: "no_time", detail });
    }
    const beacon = await minerWindowBeacon(o.chain, o.drand, window);
    if (beacon.round !== null) log.info(`Using drand randomness from round ${beacon.round}`);
    log.info(`Starting inference generation for window ${window}-${window + 29}`);
    const mw: MinerWindow = {
      windowStart: window,
      blockHash: beacon.blockHash,
      randomness: beacon.randomness,
      useDrand: beacon.round !== null,
      checkpointWindow: wm.checkpointWindow,
      block: head,
    };
    const rng = new SeededRandom(
      parseInt(sha256Hex(`${o.samplingSeed}|${o.identity.hotkey}|${window}`).slice(0, 8), 16),
    );
    const config: MinerPipelineConfig = {
      model: wm.model,
      modelName: wm.modelName,
      tokenizer: wm.tokenizer,
      task: wm.task,
      window: mw,
      hotkey: o.identity.hotkey,
      keypair: o.identity.keypair,
      rng,
      now: () => o.clock.nowMs() / 1000,
    };
    let rollouts: Rollout[] = [];
    const maxGroups = o.maxGroupsPerWindow ?? Number.POSITIVE_INFINITY;
    for (let g = 0; g < maxGroups; g++) {
      if (signal?.aborted) break;
      if (g > 0) {
        head = await this.#head();
        if (!hasTimeForNextGeneration(this.#budget, window, head, o.safetyBlocks)) {
          log.info(
            `Pipeline: stopping — ${blocksRemaining(window, head)} blocks remain, need ${
              neededBlocks(this.#budget, o.safetyBlocks)
            }`,
          );
          break;
        }
      }
      o.status?.(`window ${window}: mining group ${g} (${rollouts.length} rollouts so far)`);
      config.window = { ...mw, block: head };
      const t0 = o.clock.nowMs();
      const mined = await mineGroup(config, g);
      const sec = (o.clock.nowMs() - t0) / 1000;
      this.#budget = observeGeneration(this.#budget, sec);
      o.metrics.observe("grail_generation_seconds", sec);
      if (!mined.ok) {
        base.dropped[mined.reason] = (base.dropped[mined.reason] ?? 0) + 1;
        o.metrics.inc("grail_groups_dropped_total", { reason: mined.reason });
        log.warning(`Window ${window} group ${g} dropped: ${mined.reason} (${mined.detail})`);
        continue;
      }
      rollouts.push(...mined.rollouts);
      base.groups++;
      o.metrics.inc("grail_rollouts_produced_total", {}, mined.rollouts.length);
      const tokens = mined.rollouts.reduce((a, r) => a + r.commit.rollout.completion_length, 0);
      this.#timingLog.event("group_timing", {
        gen_sec: round3(sec),
        group_sec: round3(sec),
        num_rollouts: mined.rollouts.length,
        total_completion_tokens: tokens,
        tokens_per_sec: round3(tokens / Math.max(sec, 1e-9)),
      });
    }
    if (rollouts.length === 0) {
      log.warning(`Window ${window}: no rollouts to upload`);
      return await this.#finish({ ...base, status: "empty" });
    }
    if (o.transform !== undefined) {
      rollouts = await o.transform(rollouts, {
        window: mw,
        identity: o.identity,
        model: wm,
        clock: o.clock,
        chain: o.chain,
        netuid: o.netuid,
        stores: o.stores,
      });
    }
    head = await this.#head();
    const safe = generationFinishedSafely(this.#budget, blocksRemaining(window, head));
    if (!safe) {
      log.warning(`Window ${window}: generation ended late; the upload may miss the deadline`);
    }
    o.status?.(`window ${window}: uploading ${rollouts.length} rollouts`);
    const t0 = o.clock.nowMs();
    let key: string;
    try {
      key = await putWindowFile(o.stores.own, {
        wallet: o.identity.hotkey,
        windowStart: window,
        timestamp: o.clock.nowMs() / 1000,
        rollouts,
      });
    } catch (e) {
      o.metrics.inc("grail_uploads_total", { outcome: "failed" });
      log.error(`Upload for window ${window} failed: ${(e as Error).message}`);
      return await this.#finish({ ...base, status: "upload_failed", detail: (e as Error).message });
    }
    const uploadSeconds = (o.clock.nowMs() - t0) / 1000;
    this.#budget = observeUpload(this.#budget, uploadSeconds);
    o.metrics.observe("grail_upload_seconds", uploadSeconds);
    o.metrics.inc("grail_uploads_total", { outcome: "ok" });
    o.metrics.inc("grail_rollouts_uploaded_total", {}, rollouts.length);
    log.info(`Successfully uploaded window ${window} with ${rollouts.length} rollouts`);
    return await this.#finish({
      ...base,
      status: "uploaded",
      rollouts: rollouts.length,
      meanReward: rollouts.reduce((sum, r) => sum + r.commit.rollout.total_reward, 0) /
        rollouts.length,
      uploadSeconds,
      key,
    });
  }

  /**
   * The loop: until `signal` aborts, mine each new window once.
   *
   * @param signal Graceful stop (SIGINT/SIGTERM): the current group finishes, nothing is
   *   uploaded half-way, and the state stays at the last finished window.
   */
  async run(signal: AbortSignal): Promise<void> {
    const o = this.#o;
    while (!signal.aborted) {
      try {
        const head = await this.#head();
        const w = windowStart(head);
        const last = this.#state.lastWindow;
        if (o.stopAfterWindow !== undefined && last !== null && last >= o.stopAfterWindow) break;
        if (last !== null && w <= last) {
          o.status?.(`head ${head}: window ${w} done, waiting for ${last + 30}`);
          await o.clock.sleep(o.pollMs ?? 2000, signal);
          continue;
        }
        await this.mineWindow(w, signal);
      } catch (e) {
        if (signal.aborted) break;
        o.metrics.inc("grail_errors_total", { role: "miner", stage: "window" });
        o.onError?.(e);
        o.logger.error(`Miner loop error: ${(e as Error).message}`);
        await o.clock.sleep(o.errorSleepMs ?? 10_000, signal).catch(() => undefined);
      }
    }
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The default safety margin, re-exported for the CLI's help. */
export const DEFAULT_SAFETY_BLOCKS: number = MINER_SAFETY_BLOCKS;
