/**
 * The learning demonstration (docs/train_learning.md): a local network — in-process chain,
 * folder buckets — with the trainer role (UID 0) and one toy-environment miner (UID 1) in a loop.
 * Each window the miner loads the newest checkpoint READY before it through the consumer path of
 * our miner and validator (`WindowModelLoader`: FULL + DELTA reconstruction, weights-hash check),
 * mines "echo the digit" groups with proofs and uploads its window file; one window later the
 * trainer reads that file, trains, and publishes the next DELTA with its READY marker. The mean
 * reward of each window's rollouts is the learning curve.
 *
 * @module
 */

import { join } from "node:path";
import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { writeDevnetModel } from "../devnet/model.ts";
import { loadCpuModel } from "../model/cpu_model.ts";
import { SeededRandom } from "../model/seeded_random.ts";
import { ModelTokenizer } from "../model/tokenizer.ts";
import { AccessKey, encodeCommitment } from "../net/credentials.ts";
import { FolderStore } from "../net/folder_store.ts";
import { LocalChain } from "../net/local_chain.ts";
import type { ObjectStore } from "../net/storage.ts";
import { putWindowFile } from "../net/window_file.ts";
import { Logger } from "../roles/logger.ts";
import { identityFromPair, type StoreResolver } from "../roles/network.ts";
import { StateFile } from "../roles/state.ts";
import { Trainer, type TrainerOptions, type TrainerState } from "../roles/trainer.ts";
import { WindowModelLoader } from "../roles/window_model.ts";
import type { TrainerHyper } from "./cpu_trainer.ts";
import { mineToyWindow } from "./toy_miner.ts";

/** Settings of {@link runLearningDemo}. */
export interface LearningDemoOptions {
  /** Working folder (buckets, caches, trainer state). */
  dir: string;
  /** Windows mined (each followed by a training window). */
  windows: number;
  /** Groups per window (default 8). */
  groupsPerWindow?: number;
  /** Completion tokens per rollout (default 8). */
  completionTokens?: number;
  /** Trainer settings (default: lr 3e-3, batches of 16, one step per batch). */
  hyper?: TrainerHyper;
  /** Seed of the sampling (default 1). */
  seed?: number;
  /** Called after each window. */
  onWindow?: (row: LearningDemoRow) => void;
  /** Log sink (default: none). */
  log?: (line: string) => void;
  /** The trainer's gradient engine factory (default: the float64 CPU reference). */
  gradientEngine?: TrainerOptions["gradientEngine"];
}

/** One window of the demonstration. */
export interface LearningDemoRow {
  /** Window mined. */
  window: number;
  /** Checkpoint the miner used. */
  checkpointWindow: number;
  /** Mean reward of its rollouts. */
  meanReward: number;
  /** Fraction of rollouts with reward ≥ 0.9. */
  successRate: number;
  /** Mean GRPO loss of the training window that consumed them. */
  loss: number;
  /** Checkpoint types the trainer published after it. */
  published: string;
}

/**
 * Runs the demonstration and returns the per-window rows.
 *
 * @param options Folder, windows and settings.
 * @returns One row per mined window.
 * @throws Any role error (the demo does not retry).
 *
 * @example Two windows (a smoke run; the learning curve needs more)
 * ```ts
 * import { runLearningDemo } from "./learning_demo.ts";
 * const dir = await Deno.makeTempDir();
 * const rows = await runLearningDemo({ dir, windows: 1, groupsPerWindow: 2 });
 * await Deno.remove(dir, { recursive: true });
 * if (rows.length !== 1 || !(rows[0].meanReward >= 0)) throw new Error();
 * ```
 */
export async function runLearningDemo(options: LearningDemoOptions): Promise<LearningDemoRow[]> {
  await cryptoWaitReady();
  const { dir } = options;
  const groups = options.groupsPerWindow ?? 8;
  const completionTokens = options.completionTokens ?? 8;
  let nowMs = 1_700_000_000_000;
  const blockMs = 1000;
  const clock = {
    nowMs: () => nowMs,
    sleep: (ms: number) => {
      nowMs += ms;
      return Promise.resolve();
    },
  };
  const chain = new LocalChain({ blockTimeMs: blockMs, genesisMs: nowMs, clock });
  const netuid = 2;
  chain.createSubnet(netuid);
  const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
  const coldkey = keyring.addFromUri("//Alice");
  const buckets = new Map<string, ObjectStore>();
  const ids = [];
  for (const name of ["trainer", "miner"]) {
    const identity = identityFromPair(keyring.addFromUri(`//Alice//grail-train-demo//${name}`));
    await chain.register(netuid, identity.pair, coldkey);
    buckets.set(name, new FolderStore(join(dir, "buckets", name)));
    await chain.setCommitment(
      netuid,
      identity.pair,
      encodeCommitment({
        accountId: name,
        read: new AccessKey(`read-${name}`, `secret-${name}`.padEnd(40, "0")),
      }),
    );
    ids.push(identity);
  }
  const [trainerId, minerId] = ids;
  const resolver = (name: string): StoreResolver => ({
    own: buckets.get(name)!,
    reader: (creds) => {
      const s = buckets.get(creds.accountId);
      if (s === undefined) throw new Error(`No local bucket ${creds.accountId}`);
      return s;
    },
  });
  const baseDir = await writeDevnetModel(join(dir, "base"), { seed: 1, cutVocabSize: 300 });
  const tokenizer = await ModelTokenizer.load(baseDir);
  const digits = Array.from({ length: 10 }, (_, d) => {
    const ids = tokenizer.encode(String(d));
    if (ids.length !== 1) throw new Error(`Digit ${d} is not one token (${ids})`);
    return ids[0];
  });
  const logger = new Logger({
    name: "grail.trainer",
    write: options.log ?? (() => {}),
    nowMs: clock.nowMs,
  });
  const trainer = new Trainer({
    chain,
    netuid,
    identity: trainerId,
    stores: resolver("trainer"),
    baseModelDir: baseDir,
    workDir: join(dir, "trainer"),
    state: new StateFile<TrainerState>(join(dir, "trainer", "state.json"), "trainer"),
    clock,
    logger,
    hyper: { lr: 3e-3, batchSize: 16, gradAccumSteps: 1, epochs: 1, ...options.hyper },
    groups: { groupSize: 16 },
    publish: {
      envId: "toy_echo_digit",
      envParams: { split: "train", gpu_eval: false },
      generationParams: {
        max_tokens: completionTokens,
        temperature: 1,
        top_p: 1,
        top_k: 0,
        repetition_penalty: 1,
      },
      thinkingMode: "instructed",
    },
    trustedMiners: [minerId.hotkey],
    gradientEngine: options.gradientEngine,
  });
  await trainer.resume();
  const loader = new WindowModelLoader({
    cacheRoot: join(dir, "miner-cache"),
    loadModel: loadCpuModel,
  });
  const rng = new SeededRandom(options.seed ?? 1);
  const advanceTo = async (block: number) => {
    const head = await chain.currentBlock();
    if (block > head) nowMs += (block - head) * blockMs;
  };
  // Window 0: the initial FULL snapshot (no data yet).
  await trainer.trainWindow(0);
  const rows: LearningDemoRow[] = [];
  for (let k = 1; k <= options.windows; k++) {
    const window = 30 * k;
    await advanceTo(window);
    const { model: wm } = await loader.forWindow(buckets.get("trainer")!, window);
    const rollouts = await mineToyWindow({
      model: wm.model,
      modelName: wm.modelName,
      checkpointWindow: wm.checkpointWindow,
      windowStart: window,
      blockHash: await chain.blockHash(window),
      randomness: "ab".repeat(32),
      hotkey: minerId.hotkey,
      keypair: minerId.keypair,
      digits,
      problems: Array.from({ length: groups }, (_, g) => (k * groups + g) % 1000),
      completionTokens,
      temperature: 1,
      rng,
      now: nowMs / 1000,
    });
    await putWindowFile(buckets.get("miner")!, {
      wallet: minerId.hotkey,
      windowStart: window,
      timestamp: nowMs / 1000,
      rollouts,
    });
    await advanceTo(window + 30);
    const report = await trainer.trainWindow(window + 30);
    const rewards = rollouts.map((r) => r.commit.rollout.total_reward);
    const row: LearningDemoRow = {
      window,
      checkpointWindow: wm.checkpointWindow,
      meanReward: rewards.reduce((a, b) => a + b, 0) / rewards.length,
      successRate: rollouts.filter((r) => r.commit.rollout.success).length / rollouts.length,
      loss: report.training?.meanLoss ?? NaN,
      published: report.published.join("+"),
    };
    rows.push(row);
    options.onWindow?.(row);
  }
  loader.current?.model.dispose();
  await chain.close();
  return rows;
}

/**
 * An SVG line chart of mean reward (and success rate) per window.
 *
 * @param rows The demonstration's rows.
 * @param title Chart title.
 * @returns SVG text.
 *
 * @example
 * ```ts
 * import { rewardSvg } from "./learning_demo.ts";
 * const svg = rewardSvg([{ window: 30, checkpointWindow: 0, meanReward: 0.1, successRate: 0,
 *   loss: 0, published: "DELTA" }], "t");
 * if (!svg.startsWith("<svg")) throw new Error();
 * ```
 */
export function rewardSvg(rows: readonly LearningDemoRow[], title: string): string {
  const W = 640, H = 360, L = 60, R = 20, T = 40, B = 50;
  const n = rows.length;
  const x = (i: number) => L + (n <= 1 ? 0 : (i / (n - 1)) * (W - L - R));
  const y = (v: number) => T + (1 - v) * (H - T - B);
  const path = (f: (r: LearningDemoRow) => number) =>
    rows.map((r, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(f(r)).toFixed(1)}`).join(" ");
  const grid = [0, 0.25, 0.5, 0.75, 1].map((v) =>
    `<line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#ddd"/>` +
    `<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end" font-size="12">${v.toFixed(2)}</text>`
  ).join("");
  const ticks = rows.map((r, i) =>
    i % Math.max(1, Math.ceil(n / 10)) === 0
      ? `<text x="${x(i)}" y="${H - B + 18}" text-anchor="middle" font-size="12">${r.window}</text>`
      : ""
  ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${title}</text>
${grid}${ticks}
<text x="${W / 2}" y="${H - 10}" text-anchor="middle" font-size="12">window (block)</text>
<path d="${path((r) => r.meanReward)}" fill="none" stroke="#1f77b4" stroke-width="2.5"/>
<path d="${
    path((r) => r.successRate)
  }" fill="none" stroke="#ff7f0e" stroke-width="2" stroke-dasharray="6,4"/>
<text x="${L + 10}" y="${T + 14}" font-size="12" fill="#1f77b4">mean reward</text>
<text x="${L + 10}" y="${T + 30}" font-size="12" fill="#ff7f0e">success rate (reward ≥ 0.9)</text>
</svg>
`;
}
