/**
 * Starting a role against a real network: connect the chain, load the hotkey, check it is
 * registered, open the buckets (own with write keys, others' with their committed read keys),
 * commit our read credentials if the chain holds other ones, start drand, the metrics endpoint,
 * the progress line and signal handling, then run the role's loop until SIGINT/SIGTERM.
 *
 * @module
 */

import { join } from "node:path";
import { type Chain, resolveNetwork } from "../net/chain.ts";
import { encodeCommitment, r2Endpoint, type ReadCredentials } from "../net/credentials.ts";
import { DrandClient } from "../net/drand.ts";
import { S3Store } from "../net/s3_store.ts";
import { SubstrateChain } from "../net/substrate_chain.ts";
import { loadHotkey } from "../net/wallet.ts";
import { loadModel } from "../model/load.ts";
import { configSecrets, describeConfig, type RoleConfig } from "./config.ts";
import { Logger } from "./logger.ts";
import { declareRoleMetrics, Metrics } from "./metrics.ts";
import { Miner, type MinerState } from "./miner.ts";
import {
  committedBuckets,
  identityFromPair,
  type RoleIdentity,
  type StoreResolver,
} from "./network.ts";
import { Progress } from "./progress.ts";
import { StateFile } from "./state.ts";
import { Validator, type ValidatorState } from "./validator.ts";
import { WindowModelLoader } from "./window_model.ts";

/**
 * Runs `grail mine` or `grail validate` with a parsed configuration.
 *
 * @param config The configuration.
 * @returns Exit code (0 after a graceful stop, 1 on a start-up failure).
 */
export async function launchRole(config: RoleConfig): Promise<number> {
  const progress = new Progress({ tty: Deno.stdout.isTerminal() });
  const logFile = config.logFile === null
    ? null
    : await Deno.open(config.logFile, { write: true, create: true, append: true });
  const encoder = new TextEncoder();
  const logger = new Logger({
    name: `grail.${config.role}`,
    level: config.logLevel,
    write: (line) => {
      progress.printErr(line);
      logFile?.writeSync(encoder.encode(line + "\n"));
    },
  });
  for (const s of configSecrets(config)) logger.addSecret(s);
  for (const line of describeConfig(config)) logger.info(line);
  if (config.storage === null) {
    logger.error(`Cannot start: ${config.storageProblem}`);
    logFile?.close();
    return 1;
  }
  const storage = config.storage;
  let chain: Chain | null = null;
  const stop = new AbortController();
  const onSignal = () => {
    progress.clear();
    logger.warning("Signal received: finishing the current step, then stopping");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let metricsServer: { url: string; close(): Promise<void> } | null = null;
  try {
    const pair = await loadHotkey({
      root: config.wallet.root,
      name: config.wallet.name,
      hotkey: config.wallet.hotkey,
    });
    const identity: RoleIdentity = identityFromPair(pair);
    chain = await SubstrateChain.connect(resolveNetwork(config.endpoint), {
      callTimeoutMs: config.callTimeoutMs,
    });
    const uid = await chain.uidOf(config.netuid, identity.hotkey);
    if (uid === null) {
      logger.error(
        `Hotkey ${identity.hotkey} is not registered on subnet ${config.netuid}; register it first`,
      );
      return 1;
    }
    logger.info(`Hotkey ${identity.hotkey} is uid ${uid} on subnet ${config.netuid}`);
    const own = new S3Store({
      endpoint: storage.endpoint,
      bucket: storage.bucket,
      credentials: storage.write,
      region: storage.region,
      forcePathStyle: storage.forcePathStyle,
      onRetry: (e) => logger.warning(`Storage retry: ${JSON.stringify(e)}`),
    });
    const readers = new Map<string, S3Store>();
    const stores: StoreResolver = {
      own,
      reader: (creds: ReadCredentials) => {
        const k = `${creds.accountId}|${creds.read.accessKeyId}`;
        let s = readers.get(k);
        if (s === undefined) {
          s = new S3Store({
            // A custom endpoint (R2_ENDPOINT_URL: MinIO, s3rver) serves every bucket.
            endpoint: storage.endpoint.includes(".r2.cloudflarestorage.com")
              ? r2Endpoint(creds.accountId)
              : storage.endpoint,
            bucket: creds.accountId,
            credentials: creds.read,
            region: storage.region,
            forcePathStyle: storage.forcePathStyle,
          });
          readers.set(k, s);
        }
        return s;
      },
    };
    // Infra spec §3.4: commit our read credentials when the chain holds other ones.
    const mine: ReadCredentials = { accountId: storage.accountId, read: storage.read };
    const current = (await committedBuckets(chain, config.netuid)).get(identity.hotkey);
    if (
      current === undefined || current.accountId !== mine.accountId ||
      current.read.accessKeyId !== mine.read.accessKeyId ||
      current.read.secretAccessKey !== mine.read.secretAccessKey
    ) {
      logger.info("Committing bucket read credentials on chain");
      await chain.setCommitment(config.netuid, identity.pair, encodeCommitment(mine));
    }
    const metrics = declareRoleMetrics(new Metrics());
    if (config.metricsPort !== null) {
      metricsServer = await metrics.serve(config.metricsPort);
      logger.info(`Metrics at ${metricsServer.url}/metrics`);
    }
    const drand = config.useDrand ? new DrandClient() : null;
    const loader = new WindowModelLoader({
      cacheRoot: join(config.cacheDir, "checkpoints"),
      loadModel: (dir) => loadModel(dir, { backend: config.backend }),
    });
    const status = (text: string) => progress.status(`${config.role} uid ${uid}: ${text}`);
    const seed = new Uint32Array(1);
    crypto.getRandomValues(seed);
    if (config.role === "miner") {
      const miner = new Miner({
        chain,
        netuid: config.netuid,
        identity,
        stores,
        drand,
        loader,
        clock: { nowMs: Date.now, sleep: (ms, signal) => sleepMs(ms, signal) },
        logger: logger.child("grail.miner"),
        metrics,
        state: new StateFile<MinerState>(
          join(config.stateDir, `miner-${identity.hotkey}.json`),
          "miner",
        ),
        samplingSeed: seed[0],
        safetyBlocks: config.safetyBlocks,
        maxGroupsPerWindow: config.maxGroups ?? undefined,
        status,
      });
      await miner.resume();
      await miner.run(stop.signal);
    } else {
      const validator = new Validator({
        chain,
        netuid: config.netuid,
        identity,
        stores,
        drand,
        loader,
        clock: { nowMs: Date.now, sleep: (ms, signal) => sleepMs(ms, signal) },
        logger: logger.child("grail.validator"),
        metrics,
        state: new StateFile<ValidatorState>(
          join(config.stateDir, `validator-${identity.hotkey}.json`),
          "validator",
        ),
        mode: config.mode,
        testMode: config.testMode,
        status,
      });
      await validator.resume();
      await validator.run(stop.signal);
    }
    progress.clear();
    logger.warning("Stopped");
    return 0;
  } catch (e) {
    progress.clear();
    logger.error(`${config.role} failed: ${(e as Error).message}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await metricsServer?.close();
    await chain?.close();
    logFile?.close();
  }
}

function sleepMs(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
