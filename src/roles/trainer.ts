/**
 * The long-running trainer (infra spec §1.6, §9): at each window change C = W(head) it loads the
 * rollouts of window D = C − 30 from the trusted miners (validator trust list §4.5, else the top
 * miners by incentive), builds GRPO groups, trains one window on the CPU reference trainer, and
 * publishes the snapshot labelled C — a DELTA against the previous published state every window,
 * plus a FULL at anchor windows (C % 300 = 0), when ≥ 10 deltas accumulated, or when no previous
 * state exists — then writes `READY-{W(head after upload)}` and prunes old checkpoints on the
 * first and every 10th upload (§4.7).
 *
 * Resume: after each window the float32 master weights and AdamW moments go to
 * `workDir/training_state.safetensors`, the last published weights to `workDir/published/`, and
 * the windows and links to the state file. On start these are loaded back, so training continues
 * from the last checkpoint and the DELTA chain continues from the last published state.
 *
 * Gradients come from the float64 CPU reference, or from the WebGPU step through
 * `gradientEngine` (master weights, clipping and AdamW stay in float64 on the host). Divergences
 * from the reference, on purpose: no replay buffer of older windows, no LR schedule, and uploads
 * happen inline (no separate upload worker or background FULL).
 *
 * @module
 */

import { join } from "node:path";
import type { Chain, Clock } from "../net/chain.ts";
import { isAnchorWindow } from "../net/checkpoint/retention.ts";
import {
  cleanupRemoteCheckpoints,
  markCheckpointReady,
  publishDeltaCheckpoint,
  type PublishFields,
  publishFullCheckpoint,
} from "../net/checkpoint/publish.ts";
import { PyFloat } from "../net/checkpoint/metadata.ts";
import { loadStateDict } from "../net/checkpoint/local_weights.ts";
import type { StateDict } from "../net/checkpoint/state_dict.ts";
import { trustListKey } from "../net/storage.ts";
import { getWindowFile } from "../net/window_file.ts";
import { WindowFileError } from "../net/window_file_error.ts";
import { WINDOW_LENGTH, windowStart } from "../net/windows.ts";
import type { Rollout } from "../protocol/rollout.ts";
import { signSr25519 } from "../protocol/signature.ts";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  CpuGrpoTrainer,
  type GradientEngine,
  type TrainerHyper,
  type WindowTrainingStats,
} from "../train/cpu_trainer.ts";
import type { ModelConfig } from "../model/config.ts";
import { type GroupOptions, selectGroups } from "../train/groups.ts";
import { loadParams, type Params } from "../train/params.ts";
import {
  loadTrainingState,
  paramsToStateDict,
  saveTrainingState,
  writeFullFolder,
} from "../train/snapshot.ts";
import type { Logger } from "./logger.ts";
import { committedBuckets, type RoleIdentity, type StoreResolver } from "./network.ts";
import type { StateFile } from "./state.ts";

/** Deltas after which a new FULL anchor is published (the reference's background-FULL rule). */
export const MAX_DELTAS_PER_ANCHOR = 10;
/** Cleanup runs on the 1st upload and every this many (`GRAIL_CLEANUP_INTERVAL_UPLOADS`). */
export const CLEANUP_INTERVAL_UPLOADS = 10;

/** What the trainer keeps in its state file. */
export interface TrainerState {
  /** Last training window C finished (trained and published), or null. */
  lastWindow: number | null;
  /** Last published window (the next DELTA's `prev_window`), or null. */
  prevWindow: number | null;
  /** Last FULL window (the next DELTA's `anchor_window`), or null. */
  anchorWindow: number | null;
  /** DELTAs since that FULL. */
  deltasSinceAnchor: number;
  /** Uploads so far (cleanup cadence). */
  uploads: number;
  /** Adaptive KL coefficient. */
  klCoef: number;
}

/** One window's outcome. */
export interface TrainerWindowReport {
  /** Training window C. */
  window: number;
  /** Data window D. */
  dataWindow: number;
  /** Miners whose files were read. */
  trustedMiners: string[];
  /** Rollouts loaded. */
  rollouts: number;
  /** Groups trained on. */
  groups: number;
  /** Mean reward of the loaded rollouts (NaN without rollouts). */
  meanReward: number;
  /** Training statistics, or null when there was nothing to train on. */
  training: WindowTrainingStats | null;
  /** Checkpoint types published for C. */
  published: ("FULL" | "DELTA")[];
  /** The READY marker key written. */
  readyKey: string;
}

/** Settings of the trainer role. */
export interface TrainerOptions {
  /** The chain. */
  chain: Chain;
  /** Subnet. */
  netuid: number;
  /** Our hotkey (UID 0: our bucket is where everyone reads checkpoints). */
  identity: RoleIdentity;
  /** Buckets: `own` receives checkpoints; `reader` opens miners' and validators' buckets. */
  stores: StoreResolver;
  /** The model training starts from (also the frozen KL reference). */
  baseModelDir: string;
  /** Local folder for master weights, optimizer state and published snapshots. */
  workDir: string;
  /** State file. */
  state: StateFile<TrainerState>;
  /** Time source. */
  clock: Clock;
  /** Logger named `grail.trainer`. */
  logger: Logger;
  /** Training settings (reference defaults). */
  hyper?: TrainerHyper;
  /** Group filters (reference defaults). */
  groups?: GroupOptions;
  /** Metadata miners need: env, sampling, thinking mode. */
  publish: Omit<PublishFields, "createdAt" | "trainingConfig">;
  /** Test mode: train only on these hotkeys' files (the reference uses UID 0's in test mode). */
  trustedMiners?: string[];
  /** Fallback miners by incentive (`GRAIL_TRAINER_MIN_TRUSTED_MINERS`, default 1). */
  minTrustedMiners?: number;
  /** Trust lists tried back from D, 30 blocks apart (default 5). */
  trustStalenessWindows?: number;
  /** Head poll interval (default 5000 ms). */
  pollMs?: number;
  /** Sleep after an unexpected error (default 10 s). */
  errorSleepMs?: number;
  /** Called after each window. */
  onWindow?: (report: TrainerWindowReport) => void;
  /**
   * Builds the gradient engine once the model is loaded (e.g. the WebGPU step,
   * `GpuGradientEngine`); default: the float64 CPU reference.
   */
  gradientEngine?: (
    config: ModelConfig,
    params: Params,
    reference: Params | null,
  ) => Promise<GradientEngine>;
}

/** The trainer role. */
export class Trainer {
  readonly #o: TrainerOptions;
  #state: TrainerState = {
    lastWindow: null,
    prevWindow: null,
    anchorWindow: null,
    deltasSinceAnchor: 0,
    uploads: 0,
    klCoef: 0.02,
  };
  #trainer: CpuGrpoTrainer | null = null;
  #published: StateDict | null = null;

  /** @param options See {@linkcode TrainerOptions}. */
  constructor(options: TrainerOptions) {
    this.#o = options;
  }

  /** The state as last saved or loaded. @returns A copy. */
  get state(): TrainerState {
    return structuredClone(this.#state);
  }

  /** The trainer (after `resume`), for inspection. @returns It, or null before `resume`. */
  get model(): CpuGrpoTrainer | null {
    return this.#trainer;
  }

  #statePath(): string {
    return join(this.#o.workDir, "training_state.safetensors");
  }

  #publishedDir(): string {
    return join(this.#o.workDir, "published");
  }

  /**
   * Loads the base model, then the saved state, master weights, optimizer and last published
   * weights when present (call once before `run` / `trainWindow`).
   *
   * @returns Once ready.
   * @throws When the saved state belongs to another model.
   */
  async resume(): Promise<void> {
    const o = this.#o;
    await Deno.mkdir(o.workDir, { recursive: true });
    const { config, params } = await loadParams(o.baseModelDir);
    const reference = (await loadParams(o.baseModelDir)).params;
    const engine = o.gradientEngine === undefined
      ? undefined
      : await o.gradientEngine(config, params, (o.hyper?.klCoef ?? 0.02) > 0 ? reference : null);
    this.#trainer = new CpuGrpoTrainer(config, params, { ...o.hyper, engine }, reference);
    const saved = await o.state.load();
    if (saved === null) return;
    this.#state = saved;
    this.#trainer.kl.value = saved.klCoef;
    try {
      await loadTrainingState(this.#statePath(), params, this.#trainer.optimizer);
      this.#published = await loadStateDict(this.#publishedDir());
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      // A state file without weights: start the DELTA chain over with a FULL.
      this.#state.prevWindow = null;
    }
    o.logger.info(
      `Resuming after window ${saved.lastWindow} (step ${this.#trainer.optimizer.stepCount}, ` +
        `prev ${saved.prevWindow}, anchor ${saved.anchorWindow})`,
    );
  }

  /** Hotkeys whose files train window C (infra spec §4.5, §9 step 1). */
  async #trustedMiners(dataWindow: number): Promise<string[]> {
    const o = this.#o;
    if (o.trustedMiners !== undefined) return o.trustedMiners;
    const mg = await o.chain.metagraph(o.netuid);
    const buckets = await committedBuckets(o.chain, o.netuid);
    // The permitted validator with the most stake.
    let best = -1;
    for (let i = 0; i < mg.uids.length; i++) {
      if (!mg.validatorPermit[i] || !buckets.has(mg.hotkeys[i])) continue;
      if (best < 0 || mg.stake[i] > mg.stake[best]) best = i;
    }
    if (best >= 0) {
      const store = o.stores.reader(buckets.get(mg.hotkeys[best])!);
      for (let k = 0; k < (o.trustStalenessWindows ?? 5); k++) {
        const w = dataWindow - k * WINDOW_LENGTH;
        if (w < 0) break;
        try {
          const body = JSON.parse(new TextDecoder().decode(await store.get(trustListKey(w))));
          if (body.version !== 1 || !Array.isArray(body.eligible_hotkeys)) break;
          if (body.eligible_hotkeys.length === 0) break;
          return body.eligible_hotkeys.filter((h: unknown) => typeof h === "string");
        } catch {
          // Missing or unreadable list: try the previous window (§4.5 staleness walk).
          continue;
        }
      }
    }
    const ranked = mg.uids
      .map((uid, i) => ({ uid, hotkey: mg.hotkeys[i], incentive: mg.incentive[i] }))
      .filter((x) => x.uid !== 0)
      .sort((a, b) => b.incentive - a.incentive || a.uid - b.uid);
    return ranked.slice(0, o.minTrustedMiners ?? 1).map((x) => x.hotkey);
  }

  async #loadRollouts(dataWindow: number, hotkeys: string[]): Promise<Rollout[]> {
    const o = this.#o;
    const buckets = await committedBuckets(o.chain, o.netuid);
    const rows: Rollout[] = [];
    for (const hk of hotkeys) {
      const creds = buckets.get(hk);
      if (creds === undefined) continue;
      try {
        const file = await getWindowFile(o.stores.reader(creds), hk, dataWindow);
        rows.push(...file.rollouts);
      } catch (e) {
        if (e instanceof WindowFileError && e.code === "not_found") continue;
        o.logger.warning(`Skipping ${hk}'s window ${dataWindow} file: ${(e as Error).message}`);
      }
    }
    return rows;
  }

  #fields(): PublishFields {
    const h = this.#o.hyper ?? {};
    return {
      ...this.#o.publish,
      createdAt: this.#o.clock.nowMs() / 1000,
      trainingConfig: {
        lr: new PyFloat(h.lr ?? 1e-6),
        epochs: h.epochs ?? 1,
        micro_batch_size: h.batchSize ?? 16,
        max_length: 12288,
        grad_clip: new PyFloat(h.gradClip ?? 0.5),
        warmup_steps: 0,
        kl_coef: new PyFloat(this.#trainer?.kl.value ?? 0.02),
        entropy_coef: new PyFloat(h.entropyCoef ?? 0.001),
      },
    };
  }

  async #sign(message: Uint8Array): Promise<string> {
    return await Promise.resolve(bytesToHex(signSr25519(message, this.#o.identity.keypair)));
  }

  /** Publishes the snapshot of window C; returns the types written. */
  async #publish(window: number): Promise<("FULL" | "DELTA")[]> {
    const o = this.#o;
    const trainer = this.#trainer!;
    const current = paramsToStateDict(trainer.params, "BF16");
    const types: ("FULL" | "DELTA")[] = [];
    const sign = (m: Uint8Array) => this.#sign(m);
    if (
      this.#published !== null && this.#state.prevWindow !== null &&
      this.#state.anchorWindow !== null
    ) {
      await publishDeltaCheckpoint(o.stores.own, {
        window,
        prevWindow: this.#state.prevWindow,
        anchorWindow: this.#state.anchorWindow,
        current,
        base: this.#published,
        fields: this.#fields(),
        sign,
      });
      types.push("DELTA");
      this.#state.deltasSinceAnchor++;
    }
    const needFull = types.length === 0 || isAnchorWindow(window) ||
      this.#state.deltasSinceAnchor >= MAX_DELTAS_PER_ANCHOR;
    const dir = join(o.workDir, "publish", `checkpoint-${window}`);
    if (needFull) {
      await writeFullFolder(dir, o.baseModelDir, current);
      await publishFullCheckpoint(o.stores.own, { window, dir, fields: this.#fields(), sign });
      await Deno.remove(dir, { recursive: true });
      types.push("FULL");
      this.#state.anchorWindow = window;
      this.#state.deltasSinceAnchor = 0;
    }
    // The next delta is against exactly what consumers now hold.
    await Deno.mkdir(this.#publishedDir(), { recursive: true });
    await writeFullFolder(this.#publishedDir(), o.baseModelDir, current);
    this.#published = current;
    this.#state.prevWindow = window;
    this.#state.uploads++;
    return types;
  }

  /**
   * Trains window C on the data of window C − 30 and publishes its snapshot.
   *
   * @param window Training window C (a window start).
   * @returns What happened.
   * @throws Storage or chain errors (the loop logs them and retries the window).
   */
  async trainWindow(window: number): Promise<TrainerWindowReport> {
    const o = this.#o;
    if (this.#trainer === null) await this.resume();
    const trainer = this.#trainer!;
    const dataWindow = window - WINDOW_LENGTH;
    const hotkeys = dataWindow >= 0 ? await this.#trustedMiners(dataWindow) : [];
    const rows = dataWindow >= 0 ? await this.#loadRollouts(dataWindow, hotkeys) : [];
    const selection = selectGroups(rows, o.groups);
    let training: WindowTrainingStats | null = null;
    if (selection.groups.length > 0) training = await trainer.trainWindow(selection.groups);
    const published = await this.#publish(window);
    const head = await o.chain.currentBlock();
    const readyKey = await markCheckpointReady(o.stores.own, window, windowStart(head));
    if (this.#state.uploads === 1 || this.#state.uploads % CLEANUP_INTERVAL_UPLOADS === 0) {
      const deleted = await cleanupRemoteCheckpoints(o.stores.own);
      if (deleted.length > 0) o.logger.info(`Deleted old checkpoints: ${deleted.join(", ")}`);
    }
    this.#state.lastWindow = window;
    this.#state.klCoef = trainer.kl.value;
    await saveTrainingState(this.#statePath(), trainer.params, trainer.optimizer);
    await o.state.save(this.#state);
    const meanReward = rows.length === 0
      ? NaN
      : rows.reduce((a, r) => a + r.commit.rollout.total_reward, 0) / rows.length;
    const report: TrainerWindowReport = {
      window,
      dataWindow,
      trustedMiners: hotkeys,
      rollouts: rows.length,
      groups: selection.groups.length,
      meanReward,
      training,
      published,
      readyKey,
    };
    o.logger.info(
      `Window ${window}: ${rows.length} rollouts from ${hotkeys.length} miners (window ${dataWindow}), ` +
        `${selection.groups.length} groups, ${training?.steps ?? 0} steps, loss ${
          training?.meanLoss.toFixed(5) ?? "-"
        }, published ${published.join("+")} → ${readyKey}`,
    );
    o.onWindow?.(report);
    return report;
  }

  /**
   * The loop: until `signal` aborts, train each new window once.
   *
   * @param signal Graceful stop; the current window finishes first.
   */
  async run(signal: AbortSignal): Promise<void> {
    const o = this.#o;
    if (this.#trainer === null) await this.resume();
    while (!signal.aborted) {
      try {
        const w = windowStart(await o.chain.currentBlock());
        if (this.#state.lastWindow !== null && w <= this.#state.lastWindow) {
          await o.clock.sleep(o.pollMs ?? 5000, signal);
          continue;
        }
        await this.trainWindow(w);
      } catch (e) {
        if (signal.aborted) break;
        o.logger.error(`Trainer loop error: ${(e as Error).message}`);
        await o.clock.sleep(o.errorSleepMs ?? 10_000, signal).catch(() => undefined);
      }
    }
  }
}
