import { deepStrictEqual, ok as assert, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { writeDevnetModel } from "../../src/devnet/model.ts";
import { loadCpuModel } from "../../src/model/cpu_model.ts";
import { FolderStore } from "../../src/net/folder_store.ts";
import { LocalChain } from "../../src/net/local_chain.ts";
import { loadStateDict } from "../../src/net/checkpoint/local_weights.ts";
import { parseCheckpointMetadata } from "../../src/net/checkpoint/metadata.ts";
import { Logger } from "../../src/roles/logger.ts";
import { identityFromPair } from "../../src/roles/network.ts";
import { StateFile } from "../../src/roles/state.ts";
import { Trainer, type TrainerState } from "../../src/roles/trainer.ts";
import { WindowModelLoader } from "../../src/roles/window_model.ts";
import { policyForward } from "../../src/train/cpu_backward.ts";
import type { TrainGroup } from "../../src/train/groups.ts";
import { runLearningDemo } from "../../src/train/learning_demo.ts";
import { mineToyWindow } from "../../src/train/toy_miner.ts";
import { SeededRandom } from "../../src/model/seeded_random.ts";
import { AccessKey, encodeCommitment } from "../../src/net/credentials.ts";
import { putWindowFile } from "../../src/net/window_file.ts";

async function setup(dir: string, baseDir: string) {
  await cryptoWaitReady();
  let nowMs = 0;
  const clock = {
    nowMs: () => nowMs,
    sleep: (ms: number) => {
      nowMs += ms;
      return Promise.resolve();
    },
  };
  const chain = new LocalChain({ blockTimeMs: 1000, genesisMs: 0, clock });
  chain.createSubnet(2);
  const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
  const identity = identityFromPair(keyring.addFromUri("//Alice//trainer-test"));
  await chain.register(2, identity.pair, keyring.addFromUri("//Alice"));
  const store = new FolderStore(join(dir, "bucket"));
  const trainer = () =>
    new Trainer({
      chain,
      netuid: 2,
      identity,
      stores: { own: store, reader: () => store },
      baseModelDir: baseDir,
      workDir: join(dir, "work"),
      state: new StateFile<TrainerState>(join(dir, "work", "state.json"), "trainer"),
      clock,
      logger: new Logger({ name: "grail.trainer", level: "silent" }),
      hyper: { lr: 1e-2, batchSize: 4, gradAccumSteps: 1 },
      publish: {
        envId: "toy_echo_digit",
        envParams: { split: "train", gpu_eval: false },
        generationParams: {
          max_tokens: 8,
          temperature: 1,
          top_p: 1,
          top_k: 0,
          repetition_penalty: 1,
        },
        thinkingMode: "instructed",
      },
      trustedMiners: [],
    });
  return { chain, store, trainer, advance: (blocks: number) => (nowMs += blocks * 1000) };
}

function syntheticGroup(): TrainGroup[] {
  const rollouts = [0, 1, 2, 3].map((i) => ({
    tokens: [20, 20, 15 + i, 16 + i, 17],
    promptLength: 2,
    completionLength: 3,
    behaviourLogprobs: [-5, -5, -5],
    advantage: i < 2 ? 1 : -1,
    reward: i < 2 ? 1 : 0,
    nonce: i,
  }));
  return [{ groupId: "0", rollouts }];
}

Deno.test("Trainer.trainWindow() publishes a FULL first, then DELTAs chained to it, each with READY", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = await writeDevnetModel(join(dir, "base"), {
      seed: 3,
      cutVocabSize: 300,
      hiddenSize: 32,
    });
    const { store, trainer, advance } = await setup(dir, base);
    const t = trainer();
    await t.resume();
    const r0 = await t.trainWindow(0);
    deepStrictEqual(r0.published, ["FULL"]);
    strictEqual(r0.readyKey, "grail/checkpoints/checkpoint-0/READY-0");
    advance(30);
    await t.model!.trainWindow(syntheticGroup());
    const r1 = await t.trainWindow(30);
    deepStrictEqual(r1.published, ["DELTA"]);
    const meta = parseCheckpointMetadata(
      new TextDecoder().decode(
        await store.get("grail/checkpoints/checkpoint-30/DELTA/metadata.json"),
      ),
      "delta metadata",
    );
    strictEqual(meta.prev_window, 0);
    strictEqual(meta.anchor_window, 0);
    strictEqual(meta.checkpoint_type, "DELTA");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Trainer.resume() continues the DELTA chain and the optimiser after a restart, and the miner's loader reconstructs the weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = await writeDevnetModel(join(dir, "base"), {
      seed: 4,
      cutVocabSize: 300,
      hiddenSize: 32,
    });
    const { store, trainer, advance } = await setup(dir, base);
    const first = trainer();
    await first.resume();
    await first.trainWindow(0);
    advance(30);
    await first.model!.trainWindow(syntheticGroup());
    await first.trainWindow(30);
    const steps = first.model!.optimizer.stepCount;
    // Restart: a new role over the same folders.
    const second = trainer();
    await second.resume();
    strictEqual(second.state.lastWindow, 30);
    strictEqual(second.model!.optimizer.stepCount, steps);
    advance(30);
    await second.model!.trainWindow(syntheticGroup());
    const r = await second.trainWindow(60);
    deepStrictEqual(r.published, ["DELTA"]);
    const meta = parseCheckpointMetadata(
      new TextDecoder().decode(
        await store.get("grail/checkpoints/checkpoint-60/DELTA/metadata.json"),
      ),
      "delta metadata",
    );
    strictEqual(meta.prev_window, 30);
    // The consumer path of our miner and validator: FULL 0 + DELTA 30 + DELTA 60, hash checked.
    const loader = new WindowModelLoader({
      cacheRoot: join(dir, "cache"),
      loadModel: loadCpuModel,
    });
    advance(30);
    const { model: wm } = await loader.forWindow(store, 90);
    strictEqual(wm.checkpointWindow, 60);
    const published = await loadStateDict(join(dir, "work", "published"));
    const loaded = await loadStateDict(wm.dir);
    for (const [name, t] of published) {
      deepStrictEqual(loaded.get(name)!.data, t.data, `${name} differs after reconstruction`);
    }
    // And the loaded model computes what the trainer's weights (rounded to bf16) compute.
    const [proof] = await wm.model.proofForward([[20, 20, 15, 16]]);
    const ours = policyForward(second.model!.config, second.model!.params, {
      tokens: [20, 20, 15, 16],
      promptLength: 1,
    });
    // bf16 rounding of the published weights moves log-probs by ~1e-2 at most here.
    for (let j = 0; j < 3; j++) {
      assert(Math.abs(proof.nextTokenLogprobs[j] - ours.logprobs[j]) < 5e-2, `token ${j}`);
    }
    wm.model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runLearningDemo() mines with the published checkpoint one window behind the trainer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rows = await runLearningDemo({
      dir,
      windows: 2,
      groupsPerWindow: 2,
      completionTokens: 4,
    });
    deepStrictEqual(rows.map((r) => [r.window, r.checkpointWindow, r.published]), [
      [30, 0, "DELTA"],
      [60, 0, "DELTA"],
    ]);
    assert(rows.every((r) => r.meanReward >= 0 && r.meanReward <= 1 && Number.isFinite(r.loss)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Trainer.trainWindow() trains on the max-stake validator's trust list, walking back to an older list", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await cryptoWaitReady();
    let nowMs = 0;
    const clock = {
      nowMs: () => nowMs,
      sleep: (ms: number) => {
        nowMs += ms;
        return Promise.resolve();
      },
    };
    const chain = new LocalChain({ blockTimeMs: 1000, genesisMs: 0, clock });
    chain.createSubnet(2);
    const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
    const cold = keyring.addFromUri("//Alice");
    const stores = new Map<string, FolderStore>();
    const ids = [];
    for (const name of ["trainer", "validator", "minerA", "minerB"]) {
      const id = identityFromPair(keyring.addFromUri(`//Alice//trust-test//${name}`));
      await chain.register(2, id.pair, cold);
      stores.set(name, new FolderStore(join(dir, name)));
      await chain.setCommitment(
        2,
        id.pair,
        encodeCommitment({ accountId: name, read: new AccessKey(`r-${name}`, `s-${name}`) }),
      );
      ids.push(id);
    }
    const [trainerId, validatorId, minerA, minerB] = ids;
    chain.addStake(2, validatorId.hotkey, 10);
    const base = await writeDevnetModel(join(dir, "base"), {
      seed: 5,
      cutVocabSize: 300,
      hiddenSize: 32,
    });
    const model = await loadCpuModel(base);
    const digits = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
    for (const [miner, name] of [[minerA, "minerA"], [minerB, "minerB"]] as const) {
      const rollouts = await mineToyWindow({
        model,
        modelName: "m",
        checkpointWindow: 0,
        windowStart: 60,
        blockHash: "0x" + "11".repeat(32),
        randomness: "ab".repeat(32),
        hotkey: miner.hotkey,
        keypair: miner.keypair,
        digits,
        problems: name === "minerA" ? [1] : [2],
        completionTokens: 4,
        temperature: 1,
        rng: new SeededRandom(name === "minerA" ? 1 : 2),
        now: 0,
      });
      await putWindowFile(stores.get(name)!, {
        wallet: miner.hotkey,
        windowStart: 60,
        timestamp: 0,
        rollouts,
      });
    }
    model.dispose();
    // Only the list of window 30 exists: the trainer walks back from 60 to it.
    await stores.get("validator")!.put(
      "grail/trust/trust_list_30.json",
      new TextEncoder().encode(
        JSON.stringify({ version: 1, window: 30, eligible_hotkeys: [minerB.hotkey] }),
      ),
    );
    const trainer = new Trainer({
      chain,
      netuid: 2,
      identity: trainerId,
      stores: {
        own: stores.get("trainer")!,
        reader: (creds) => stores.get(creds.accountId)!,
      },
      baseModelDir: base,
      workDir: join(dir, "work"),
      state: new StateFile<TrainerState>(join(dir, "work", "state.json"), "trainer"),
      clock,
      logger: new Logger({ name: "grail.trainer", level: "silent" }),
      hyper: { lr: 1e-3, batchSize: 16, gradAccumSteps: 1 },
      publish: {
        envId: "toy_echo_digit",
        envParams: { split: "train", gpu_eval: false },
        generationParams: {
          max_tokens: 4,
          temperature: 1,
          top_p: 1,
          top_k: 0,
          repetition_penalty: 1,
        },
        thinkingMode: "instructed",
      },
    });
    await trainer.resume();
    nowMs = 90_000;
    const r = await trainer.trainWindow(90);
    deepStrictEqual(r.trustedMiners, [minerB.hotkey]);
    strictEqual(r.rollouts, 16);
    await chain.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
