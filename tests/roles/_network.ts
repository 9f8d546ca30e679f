/**
 * A small local network for the role tests: LocalChain on a manual clock, folder buckets, a
 * local beacon (in-process, no HTTP), a tiny Qwen3 checkpoint (vocabulary 512, C 32, one layer)
 * published by UID 0, and registered owner, validator and miner hotkeys.
 */

import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { AccessKey, encodeCommitment } from "../../src/net/credentials.ts";
import { FolderStore } from "../../src/net/folder_store.ts";
import { LocalBeacon } from "../../src/net/local_beacon.ts";
import { LocalChain } from "../../src/net/local_chain.ts";
import type { ObjectStore } from "../../src/net/storage.ts";
import {
  DEFAULT_TRAINING_CONFIG,
  markCheckpointReady,
  publishFullCheckpoint,
} from "../../src/net/checkpoint/publish.ts";
import { loadModel } from "../../src/model/load.ts";
import { writeDevnetModel } from "../../src/devnet/model.ts";
import { Logger } from "../../src/roles/logger.ts";
import { declareRoleMetrics, Metrics } from "../../src/roles/metrics.ts";
import {
  type BeaconSource,
  identityFromPair,
  type RoleIdentity,
  type StoreResolver,
} from "../../src/roles/network.ts";
import { WindowModelLoader } from "../../src/roles/window_model.ts";

export const NETUID = 2;

/** A manual clock: sleeping advances it. */
export class ManualClock {
  ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  nowMs(): number {
    return this.ms;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.ms += ms;
    return Promise.resolve();
  }
}

export interface TestNetwork {
  dir: string;
  clock: ManualClock;
  chain: LocalChain;
  drand: BeaconSource;
  ids: Record<"owner" | "validator" | "miner", RoleIdentity>;
  buckets: Map<string, FolderStore>;
  resolver(name: string): StoreResolver;
  loader(name: string): WindowModelLoader;
  logger: Logger;
  lines: string[];
  metrics: Metrics;
  /** Moves the clock to the timestamp of `block`. */
  toBlock(block: number): void;
  close(): Promise<void>;
}

const GENESIS_MS = 1_800_000_000_000;

export async function testNetwork(options: { publish?: boolean } = {}): Promise<TestNetwork> {
  await cryptoWaitReady();
  const dir = await Deno.makeTempDir({ prefix: "grail-roles-" });
  const clock = new ManualClock(GENESIS_MS);
  const chain = new LocalChain({ blockTimeMs: 12_000, clock, genesisMs: GENESIS_MS });
  chain.createSubnet(NETUID);
  const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
  const cold = keyring.addFromUri("//Alice");
  const ids = {} as TestNetwork["ids"];
  const buckets = new Map<string, FolderStore>();
  for (const name of ["owner", "validator", "miner"] as const) {
    ids[name] = identityFromPair(keyring.addFromUri(`//Alice//test//${name}`));
    await chain.register(NETUID, ids[name].pair, cold);
    buckets.set(name, new FolderStore(`${dir}/buckets/${name}`));
    await chain.setCommitment(
      NETUID,
      ids[name].pair,
      encodeCommitment({ accountId: name, read: new AccessKey(`r-${name}`, `secret-${name}`) }),
    );
  }
  if (options.publish !== false) {
    const modelDir = await writeDevnetModel(`${dir}/model`, {
      seed: 1,
      cutVocabSize: 512,
      hiddenSize: 32,
      numLayers: 1,
    });
    await publishFullCheckpoint(buckets.get("owner")!, {
      window: 0,
      dir: modelDir,
      fields: {
        trainingConfig: { ...DEFAULT_TRAINING_CONFIG },
        createdAt: GENESIS_MS / 1000,
        modelName: "test/qwen3-tiny",
        envId: "sat",
        envParams: { split: "train", gpu_eval: false },
        generationParams: {
          max_tokens: 36,
          temperature: 0.05,
          top_p: 1,
          top_k: 0,
          repetition_penalty: 1,
        },
        thinkingMode: "instructed",
      },
    });
    await markCheckpointReady(buckets.get("owner")!, 0, 0);
  }
  const beacon = new LocalBeacon({
    seed: new Uint8Array(32).fill(9),
    genesisTime: GENESIS_MS / 1000 - 60,
    periodSeconds: 3,
  });
  const lines: string[] = [];
  return {
    dir,
    clock,
    chain,
    drand: { chain: beacon.info, get: (r) => Promise.resolve(beacon.beacon(r)) },
    ids,
    buckets,
    resolver: (name) => ({
      own: buckets.get(name)! as ObjectStore,
      reader: (c) => buckets.get(c.accountId)!,
    }),
    loader: (name) =>
      new WindowModelLoader({
        cacheRoot: `${dir}/cache/${name}`,
        loadModel: (d) => loadModel(d, { backend: "cpu" }),
      }),
    logger: new Logger({
      name: "grail",
      level: "debug",
      write: (l) => lines.push(l),
      nowMs: () => clock.ms,
    }),
    lines,
    metrics: declareRoleMetrics(new Metrics()),
    toBlock: (block) => {
      clock.ms = GENESIS_MS + block * 12_000;
    },
    close: () => Deno.remove(dir, { recursive: true }),
  };
}
