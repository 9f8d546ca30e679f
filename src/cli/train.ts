/**
 * `grail train`: the trainer role (src/roles/trainer.ts) against a live or local subnet, or the
 * self-contained learning demonstration (`--demo N`).
 *
 * @module
 */

import { join } from "node:path";
import { resolveNetwork } from "../net/chain.ts";
import { encodeCommitment, r2Endpoint, type ReadCredentials } from "../net/credentials.ts";
import { S3Store } from "../net/s3_store.ts";
import { SubstrateChain } from "../net/substrate_chain.ts";
import { loadHotkey } from "../net/wallet.ts";
import {
  configSecrets,
  describeConfig,
  loadRoleConfig,
  ROLE_FLAGS_USAGE,
} from "../roles/config.ts";
import { Logger } from "../roles/logger.ts";
import { committedBuckets, identityFromPair, type StoreResolver } from "../roles/network.ts";
import { StateFile } from "../roles/state.ts";
import { Trainer, type TrainerState } from "../roles/trainer.ts";
import { rewardSvg, runLearningDemo } from "../train/learning_demo.ts";
import { GpuContext } from "../gpu/context.ts";
import { GpuGradientEngine } from "../gpu/train/gpu_engine.ts";

const USAGE = `Usage: grail train --model DIR [trainer options] [options]
       grail train --demo N [--svg PATH]

Trains every window on the trusted miners' rollouts of the window before (GRPO, CPU reference
trainer) and publishes a DELTA checkpoint every window and a FULL at anchors, with READY markers,
to your bucket (the subnet's UID 0 bucket). Resumes from --work-dir after a restart.

Trainer options:
  --model DIR             model to start from (Hugging Face folder; also the KL reference)
  --work-dir DIR          master weights, optimizer state, published snapshot (default <state-dir>/trainer)
  --lr X                  learning rate (default 1e-6)
  --env-id ID             env_id written to checkpoints (GRAIL_ENV_ID; default triton_kernel)
  --test-miners HK,...    train only on these hotkeys' files (test mode)
  --max-len N             longest sequence the WebGPU step holds (default 2048; memory grows
                          with N² per layer); groups with a longer rollout are skipped
  (--backend webgpu runs forward/backward on the GPU, --backend cpu on the float64 reference)
  --demo N                run the local learning demonstration for N windows and exit
  --svg PATH              with --demo: write the reward curve (default ./train_learning.svg)
${ROLE_FLAGS_USAGE}`;

const OWN_FLAGS = new Set([
  "--model",
  "--work-dir",
  "--lr",
  "--env-id",
  "--test-miners",
  "--demo",
  "--svg",
]);

/** Splits our flags (each with one value) from the shared role flags. */
function splitArgs(args: string[]): { own: Map<string, string>; rest: string[] } {
  const own = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    if (!OWN_FLAGS.has(flag)) {
      rest.push(args[i]);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new RangeError(`Missing value for ${flag}`);
    own.set(flag, value);
  }
  return { own, rest };
}

function positiveNumber(flag: string, text: string): number {
  const v = Number(text);
  if (!(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(
      `Invalid ${flag}: got ${JSON.stringify(text)}, expected a positive number`,
    );
  }
  return v;
}

/**
 * Runs `grail train`.
 *
 * @param args Arguments after `train`.
 * @returns Exit code: 0 after a graceful stop or a finished demo, 1 on failure, 2 for bad
 *   arguments.
 *
 * @example
 * ```ts
 * import { main } from "./train.ts";
 * if (await main(["--lr", "-1"]) !== 2) throw new Error();
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let flags: Map<string, string>, rest: string[];
  let lr: number, maxLen: number;
  try {
    ({ own: flags, rest } = splitArgs(args));
    lr = positiveNumber("--lr", flags.get("--lr") ?? "1e-6");
    maxLen = Math.floor(positiveNumber("--max-len", flags.get("--max-len") ?? "2048"));
    if (flags.has("--demo")) {
      const windows = positiveNumber("--demo", flags.get("--demo")!);
      const dir = await Deno.makeTempDir({ prefix: "grail-train-demo-" });
      try {
        const rows = await runLearningDemo({
          dir,
          windows: Math.floor(windows),
          onWindow: (r) => console.log(JSON.stringify(r)),
        });
        const svg = flags.get("--svg") ?? "train_learning.svg";
        await Deno.writeTextFile(
          svg,
          rewardSvg(rows, "GRPO on the local network: toy “echo the digit”"),
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
      return 0;
    }
    if (!flags.has("--model")) throw new RangeError("Missing --model DIR: the model to train");
  } catch (e) {
    console.error(`grail train: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  let config;
  try {
    config = await loadRoleConfig("validator", rest, Deno.env.toObject());
  } catch (e) {
    console.error(`grail train: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if ("help" in config) {
    console.log(USAGE);
    return 0;
  }
  const logger = new Logger({ name: "grail.trainer", level: config.logLevel });
  for (const s of configSecrets(config)) logger.addSecret(s);
  for (const line of describeConfig(config)) logger.info(line.replace("validator", "trainer"));
  if (config.storage === null) {
    logger.error(`Cannot start: ${config.storageProblem}`);
    return 1;
  }
  const storage = config.storage;
  const stop = new AbortController();
  const onSignal = () => {
    logger.warning("Signal received: finishing the current window, then stopping");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let chain: SubstrateChain | null = null;
  let gpu = null as GpuContext | null;
  try {
    const identity = identityFromPair(await loadHotkey(config.wallet));
    chain = await SubstrateChain.connect(resolveNetwork(config.endpoint), {
      callTimeoutMs: config.callTimeoutMs,
    });
    const uid = await chain.uidOf(config.netuid, identity.hotkey);
    if (uid === null) {
      logger.error(`Hotkey ${identity.hotkey} is not registered on subnet ${config.netuid}`);
      return 1;
    }
    if (uid !== 0) {
      logger.warning(
        `Hotkey ${identity.hotkey} is uid ${uid}: miners read checkpoints from UID 0's bucket only`,
      );
    }
    const own = new S3Store({
      endpoint: storage.endpoint,
      bucket: storage.bucket,
      credentials: storage.write,
      region: storage.region,
      forcePathStyle: storage.forcePathStyle,
    });
    const stores: StoreResolver = {
      own,
      reader: (creds: ReadCredentials) =>
        new S3Store({
          endpoint: storage.endpoint.includes(".r2.cloudflarestorage.com")
            ? r2Endpoint(creds.accountId)
            : storage.endpoint,
          bucket: creds.accountId,
          credentials: creds.read,
          region: storage.region,
          forcePathStyle: storage.forcePathStyle,
        }),
    };
    const mine: ReadCredentials = { accountId: storage.accountId, read: storage.read };
    const current = (await committedBuckets(chain, config.netuid)).get(identity.hotkey);
    if (
      current === undefined || current.accountId !== mine.accountId ||
      current.read.accessKeyId !== mine.read.accessKeyId
    ) {
      logger.info("Committing bucket read credentials on chain");
      await chain.setCommitment(config.netuid, identity.pair, encodeCommitment(mine));
    }
    const workDir = flags.get("--work-dir") ?? join(config.stateDir, "trainer");
    const trainer = new Trainer({
      chain,
      netuid: config.netuid,
      identity,
      stores,
      baseModelDir: flags.get("--model")!,
      workDir,
      state: new StateFile<TrainerState>(join(workDir, "state.json"), "trainer"),
      clock: {
        nowMs: Date.now,
        sleep: (ms, signal) =>
          new Promise((resolve, reject) => {
            const t = setTimeout(resolve, ms);
            signal?.addEventListener("abort", () => {
              clearTimeout(t);
              reject(signal.reason);
            }, { once: true });
          }),
      },
      logger,
      hyper: { lr },
      publish: {
        envId: flags.get("--env-id") ?? Deno.env.get("GRAIL_ENV_ID") ?? "triton_kernel",
        envParams: { split: Deno.env.get("GRAIL_ENV_SPLIT") ?? "train", gpu_eval: false },
        generationParams: {
          max_tokens: 2048,
          temperature: 0.7,
          top_p: 0.9,
          top_k: 50,
          repetition_penalty: 1,
        },
        thinkingMode: "instructed",
      },
      trustedMiners: flags.has("--test-miners")
        ? flags.get("--test-miners")!.split(",")
        : undefined,
      groups: config.backend === "webgpu" ? { maxTotalTokens: maxLen } : {},
      gradientEngine: config.backend === "webgpu"
        ? async (modelConfig, params, reference) => {
          const ctx = await GpuContext.create();
          gpu = ctx;
          logger.info(`Training on ${ctx.description}, sequences up to ${maxLen} tokens`);
          return await GpuGradientEngine.create(ctx, modelConfig, params, reference, maxLen);
        }
        : undefined,
    });
    await trainer.resume();
    await trainer.run(stop.signal);
    logger.warning("Stopped");
    return 0;
  } catch (e) {
    logger.error(`trainer failed: ${(e as Error).message}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await chain?.close();
    gpu?.destroy();
  }
}
