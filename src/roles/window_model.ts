/**
 * The checkpoint a window uses (infra spec §4.6 "Discovery"): the newest READY strictly before
 * the window, downloaded (or rebuilt from deltas) into the local cache, its metadata checked as
 * the reference's `validate_metadata` does, then loaded once and kept while the window stays on
 * the same checkpoint.
 *
 * @module
 */

import {
  findReadyCheckpoint,
  pruneCheckpointCache,
  reconstructCheckpoint,
} from "../net/checkpoint/fetch.ts";
import type { CheckpointMetadata } from "../net/checkpoint/metadata.ts";
import { metadataProblems } from "../net/checkpoint/metadata.ts";
import type { ObjectStore } from "../net/storage.ts";
import type { Model } from "../model/model.ts";
import { generationParamsFromMetadata } from "../model/sampling.ts";
import { ModelTokenizer } from "../model/tokenizer.ts";
import { type PipelineTokenizer, pipelineTokenizer, type TaskConfig } from "./task.ts";

/** A loaded checkpoint and the task its metadata sets. */
export interface WindowModel {
  /** Checkpoint window. */
  checkpointWindow: number;
  /** Local folder. */
  dir: string;
  /** Its metadata.json. */
  metadata: CheckpointMetadata;
  /** `commit.model.name` (metadata `model_name`). */
  modelName: string;
  /** The loaded model. */
  model: Model;
  /** Its tokenizer. */
  tokenizer: PipelineTokenizer;
  /** The task (env, thinking mode, generation parameters). */
  task: TaskConfig;
}

/** Why no model is available for a window. */
export class NoCheckpointError extends Error {
  /** `none_ready` or `bad_metadata`. */
  readonly code: "none_ready" | "bad_metadata";
  /**
   * Creates the error.
   *
   * @param code The reason.
   * @param message Text.
   */
  constructor(code: "none_ready" | "bad_metadata", message: string) {
    super(message);
    this.name = "NoCheckpointError";
    this.code = code;
  }
}

/** Options of {@linkcode WindowModelLoader}. */
export interface WindowModelLoaderOptions {
  /** Local checkpoint cache root. */
  cacheRoot: string;
  /** Loads a checkpoint folder on the chosen backend. */
  loadModel: (dir: string) => Promise<Model>;
  /** Reward mode shared by miners and validators (default compat). */
  rewardMode?: TaskConfig["rewardMode"];
}

/** Loads and caches the checkpoint of each window. */
export class WindowModelLoader {
  readonly #options: WindowModelLoaderOptions;
  #current: WindowModel | null = null;

  /**
   * Creates a loader with nothing loaded yet.
   *
   * @param options Cache root and model loader.
   */
  constructor(options: WindowModelLoaderOptions) {
    this.#options = options;
  }

  /** The model loaded last, if any. @returns It or null. */
  get current(): WindowModel | null {
    return this.#current;
  }

  /**
   * The checkpoint for `window`: newest READY before it.
   *
   * @param store The trainer's bucket.
   * @param window The window being mined or validated.
   * @returns The loaded model and task, and whether it was (re)loaded now.
   * @throws {NoCheckpointError} `none_ready` or `bad_metadata` (the caller skips the window).
   * @throws Storage and checkpoint errors.
   */
  async forWindow(
    store: ObjectStore,
    window: number,
  ): Promise<{ model: WindowModel; loaded: boolean; loadSeconds: number }> {
    const ready = await findReadyCheckpoint(store, window);
    if (ready === null) {
      throw new NoCheckpointError("none_ready", `No checkpoint READY before window ${window}`);
    }
    if (this.#current?.checkpointWindow === ready.window) {
      return { model: this.#current, loaded: false, loadSeconds: 0 };
    }
    const t0 = performance.now();
    const local = await reconstructCheckpoint(store, ready.window, {
      cacheRoot: this.#options.cacheRoot,
    });
    const problems = metadataProblems(local.metadata);
    if (problems.length > 0) {
      throw new NoCheckpointError(
        "bad_metadata",
        `Checkpoint ${ready.window} metadata lacks ${
          problems.join(", ")
        }; skipping window ${window}`,
      );
    }
    let generation;
    try {
      generation = generationParamsFromMetadata(local.metadata.generation_params);
    } catch (e) {
      throw new NoCheckpointError(
        "bad_metadata",
        `Checkpoint ${ready.window}: ${(e as Error).message}`,
      );
    }
    const model = await this.#options.loadModel(local.dir);
    const tokenizer = pipelineTokenizer(await ModelTokenizer.load(local.dir));
    this.#current?.model.dispose();
    this.#current = {
      checkpointWindow: ready.window,
      dir: local.dir,
      metadata: local.metadata,
      modelName: local.metadata.model_name,
      model,
      tokenizer,
      task: {
        envId: local.metadata.env_id!,
        thinkingMode: local.metadata.thinking_mode as "native" | "instructed",
        generation,
        rewardMode: this.#options.rewardMode,
      },
    };
    return { model: this.#current, loaded: true, loadSeconds: (performance.now() - t0) / 1000 };
  }

  /**
   * Prunes the local cache with the shared retention policy (infra spec §4.7), as the
   * reference's roles do every window.
   *
   * @param window The current window.
   * @param nowMs The clock, for leftover partial downloads.
   * @returns Removed folder names.
   */
  async prune(window: number, nowMs: number): Promise<string[]> {
    return await pruneCheckpointCache(this.#options.cacheRoot, window, { now: nowMs });
  }

  /** Frees the loaded model. */
  dispose(): void {
    this.#current?.model.dispose();
    this.#current = null;
  }
}
