/**
 * The embedded local network: the in-process chain (`LocalChain`), one bucket per participant
 * (folders by default, s3rver on request), a local drand beacon over loopback HTTP, a
 * Qwen3-shaped tiny model published by the owner (UID 0: the trainer role, or a one-off FULL
 * checkpoint with its READY marker), honest miners, one cheater and a validator: the same
 * `Trainer`, `Miner` and `Validator` classes an operator runs against the live subnet, each with
 * its own cache, state file and logger.
 *
 * Time: a {@linkcode FastForwardClock} runs 12-second blocks in real time while a role works
 * and skips ahead while all roles sleep, so a window costs only its compute.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { AccessKey, encodeCommitment, type ReadCredentials } from "../net/credentials.ts";
import { DrandClient } from "../net/drand.ts";
import { FolderStore } from "../net/folder_store.ts";
import { S3Store } from "../net/s3_store.ts";
import { LocalBeacon } from "../net/local_beacon.ts";
import { LocalChain } from "../net/local_chain.ts";
import { SYSTEM_CLOCK } from "../net/retry.ts";
import type { ObjectStore } from "../net/storage.ts";
import {
  DEFAULT_TRAINING_CONFIG,
  markCheckpointReady,
  publishFullCheckpoint,
} from "../net/checkpoint/publish.ts";
import { convertWeightsForEmit } from "../net/weights_u16.ts";
import { loadModel } from "../model/load.ts";
import type { Model } from "../model/model.ts";
import { cudaUnavailableReason } from "../cuda/context.ts";
import { Logger, type LogLevel } from "../roles/logger.ts";
import { declareRoleMetrics, Metrics } from "../roles/metrics.ts";
import { Miner, type MinerState, type MinerWindowReport } from "../roles/miner.ts";
import { identityFromPair, type RoleIdentity, type StoreResolver } from "../roles/network.ts";
import { StateFile } from "../roles/state.ts";
import { Trainer, type TrainerState, type TrainerWindowReport } from "../roles/trainer.ts";
import { Validator, type ValidatorState, type ValidatorWindowReport } from "../roles/validator.ts";
import { WindowModelLoader } from "../roles/window_model.ts";
import { type Cheat, cheatTransform } from "./cheats.ts";
import { FastForwardClock } from "./fast_clock.ts";
import { writeDevnetModel } from "./model.ts";

/** Subnet id of the local network. */
export const DEVNET_NETUID = 2;
/** `commit.model.name` of the devnet checkpoint. */
export const DEVNET_MODEL_NAME = "grail-devnet/qwen3-tiny";
const MARKER = ".grail-devnet";

/** Environments the devnet can run: the live subnet's `sat`, or the teaching `echo-digit`. */
export type DevnetEnv = "sat" | "echo-digit";

/**
 * What `env: "echo-digit"` changes, so a tiny random model learns within a few windows. The
 * tokenizer is cut to 300 ids (digits are 10 of them, so a random model writes a digit about
 * once in 30 tokens and GRPO groups have reward variance from the first window); sampling runs
 * at temperature 1 (exploration; at the SAT devnet's 0.05 the 16 rollouts of a group are
 * nearly identical and every group is dropped for zero variance); the trainer uses no KL term
 * (`kl_coef` 0, as the reference's `.env.example`) and the learning rate of the learning demo.
 */
export const ECHO_DIGIT_DEVNET: {
  cutVocabSize: number;
  temperature: number;
  hyper: { lr: number; klCoef: number; batchSize: number; gradAccumSteps: number; epochs: number };
} = Object.freeze({
  cutVocabSize: 300,
  temperature: 1,
  hyper: Object.freeze({ lr: 3e-3, klCoef: 0, batchSize: 16, gradAccumSteps: 1, epochs: 1 }),
});

/** Options of {@linkcode runDevnet}. */
export interface DevnetOptions {
  /** State folder (wiped and recreated if it holds a previous devnet run). */
  dir: string;
  /** Windows the validator must process before the network stops. */
  windows: number;
  /** Honest miners (≥ 1). */
  honestMiners: number;
  /** The cheater's trick, or `none` for no cheater. */
  cheat: Cheat | "none";
  /** Buckets: folders (default) or a local S3 server (s3rver) on loopback. */
  store?: "folder" | "s3";
  /** Model backend of every role. */
  backend: "webgpu" | "cpu" | "cuda";
  /**
   * Loads a role's model (default: `loadModel(dir, { backend })` from src/model/load.ts); tests
   * inject one to see which backend each role asks for.
   */
  loadModel?: (dir: string, backend: "webgpu" | "cpu" | "cuda") => Promise<Model>;
  /** Verification rules of the validator. */
  mode: "strict" | "compat";
  /** Block time (default 12000 ms, as the live chain; idle time is skipped anyway). */
  blockTimeMs?: number;
  /** GRPO groups each miner mines per window (default 1). */
  groupsPerWindow?: number;
  /** Completion budget `max_tokens` published in the checkpoint (default 40, ≥ 32). */
  maxTokens?: number;
  /** Tokenizer vocabulary: cut (default, fast) or full Qwen3. */
  vocab?: "cut" | "full";
  /** Run the trainer as UID 0 (publishes checkpoint 0, then a DELTA every window). */
  trainer?: boolean;
  /**
   * Environment published as the checkpoint's `env_id` (default `sat`). `echo-digit` is the
   * teaching environment a tiny model learns (docs/train.md): it also switches the network to
   * the settings under which it learns ({@linkcode ECHO_DIGIT_DEVNET}).
   */
  env?: DevnetEnv;
  /** Stop and restart the validator after this many processed windows (resume demo). */
  restartValidatorAfter?: number;
  /** Log level of the roles' log file (default info). */
  logLevel?: LogLevel;
  /** Also copy role log lines here (e.g. stderr with -v). */
  echoLog?: (line: string) => void;
  /** Per-window and summary output (default console.log). */
  print?: (line: string) => void;
  /** Status line updates (the progress view). */
  status?: (text: string) => void;
  /** Stops the network early. */
  signal?: AbortSignal;
}

/** One participant. */
export interface DevnetParticipant {
  /** Name (also its bucket's account id). */
  name: string;
  /** `owner`, `validator`, `honest`, `cheater`. */
  kind: "owner" | "validator" | "honest" | "cheater";
  /** UID. */
  uid: number;
  /** Hotkey. */
  hotkey: string;
}

/** What the devnet did. */
export interface DevnetResult {
  /** The state folder. */
  dir: string;
  /** Participants by UID. */
  participants: DevnetParticipant[];
  /** Validator reports of processed (not skipped) windows, in order. */
  windows: ValidatorWindowReport[];
  /** Miner reports by participant name. */
  minerReports: Map<string, MinerWindowReport[]>;
  /** The last weights set: per UID float and u16. */
  finalWeights: { uid: number; weight: number; u16: number }[] | null;
  /** Validator restarts: the window processed last before the stop, and the first after. */
  restarts: { stoppedAfter: number; resumedWith: number | null; replayed: number }[];
  /** Mean reward of the honest miners' rollouts per validated window, in order. */
  rewards: { window: number; meanReward: number; rollouts: number }[];
  /** Trainer reports, in order (empty without the trainer). */
  trainerReports: TrainerWindowReport[];
  /** Wall time in seconds. */
  wallSeconds: number;
  /** Simulated chain time in seconds. */
  chainSeconds: number;
}

/** A folder bucket whose objects' `LastModified` is the network clock (not the wall clock). */
class ClockedFolderStore extends FolderStore {
  readonly #nowMs: () => number;
  constructor(root: string, nowMs: () => number) {
    super(root);
    this.#nowMs = nowMs;
  }
  override async put(key: string, body: Uint8Array): Promise<void> {
    await super.put(key, body);
    const t = new Date(this.#nowMs());
    await Deno.utime(`${this.root}/${key}`, t, t);
  }
}

async function prepareDir(dir: string): Promise<void> {
  const entries: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) entries.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new Error(
      `Refusing to use ${dir}: it is not empty and holds no previous devnet run; pass --dir with an empty or devnet folder`,
    );
  }
  for (const name of entries) await Deno.remove(join(dir, name), { recursive: true });
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, MARKER),
    "grail devnet state folder; `grail devnet` wipes it on start\n",
  );
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/**
 * Runs the local network until the validator has processed `windows` windows.
 *
 * @param options See {@linkcode DevnetOptions}.
 * @returns What happened (also printed).
 * @throws For a folder that is not a devnet folder, or a failure while setting up.
 *
 * @example
 * ```ts ignore
 * const result = await runDevnet({ dir: ".grail/devnet", windows: 2, honestMiners: 2,
 *   cheat: "zero-sketch", backend: "cpu", mode: "strict" });
 * ```
 */
export async function runDevnet(options: DevnetOptions): Promise<DevnetResult> {
  if (options.backend === "cuda" && options.loadModel === undefined) {
    const why = cudaUnavailableReason();
    if (why !== null) {
      throw new Error(`No CUDA device on this machine (${why}); run with --backend webgpu or cpu`);
    }
  }
  const wall0 = performance.now();
  const print = options.print ?? ((l: string) => console.log(l));
  const dir = resolve(options.dir);
  await prepareDir(dir);
  await cryptoWaitReady();
  const clock = new FastForwardClock();
  const genesisMs = clock.nowMs();
  const blockTimeMs = options.blockTimeMs ?? 12_000;
  const chain = new LocalChain({ blockTimeMs, clock, genesisMs, seed: "grail-devnet" });
  chain.createSubnet(DEVNET_NETUID);

  const logFile = await Deno.open(join(dir, "devnet.log"), {
    write: true,
    create: true,
    append: true,
  });
  const encoder = new TextEncoder();
  const root = new Logger({
    name: "grail",
    level: options.logLevel ?? "info",
    nowMs: () => clock.nowMs(),
    write: (line) => {
      logFile.writeSync(encoder.encode(line + "\n"));
      options.echoLog?.(line);
    },
  });

  // Participants: UID 0 owner (trainer), UID 1 validator, then miners.
  const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
  const coldkey = keyring.addFromUri("//Alice");
  const names: { name: string; kind: DevnetParticipant["kind"] }[] = [
    { name: "owner", kind: "owner" },
    { name: "validator", kind: "validator" },
    ...Array.from({ length: options.honestMiners }, (_, i) => ({
      name: `miner-${i + 1}`,
      kind: "honest" as const,
    })),
    ...(options.cheat === "none" ? [] : [{ name: "cheater", kind: "cheater" as const }]),
  ];
  // With --store s3 every bucket lives in one s3rver on loopback (its fixed S3RVER key pair).
  // s3rver stamps objects with the wall clock, which the fast-forward clock only ever runs
  // ahead of, so the deadline check cannot fail there; folder buckets use the network clock.
  let s3: { endpoint: string; close(): Promise<void> } | null = null;
  if (options.store === "s3") {
    const { default: S3rver } = await import("s3rver");
    const server = new S3rver({
      address: "127.0.0.1",
      port: 0,
      silent: true,
      directory: join(dir, "s3"),
      configureBuckets: names.map((n) => ({ name: n.name })),
    });
    const { port } = await server.run();
    s3 = { endpoint: `http://127.0.0.1:${port}`, close: () => server.close() };
  }
  const ids = new Map<string, RoleIdentity>();
  const participants: DevnetParticipant[] = [];
  const buckets = new Map<string, ObjectStore>();
  for (const { name, kind } of names) {
    const identity = identityFromPair(keyring.addFromUri(`//Alice//grail-devnet//${name}`));
    ids.set(name, identity);
    const uid = await chain.register(DEVNET_NETUID, identity.pair, coldkey);
    participants.push({ name, kind, uid, hotkey: identity.hotkey });
    buckets.set(
      name,
      s3 === null
        ? new ClockedFolderStore(join(dir, "buckets", name), () => clock.nowMs())
        : new S3Store({
          endpoint: s3.endpoint,
          bucket: name,
          credentials: new AccessKey("S3RVER", "S3RVER"),
          forcePathStyle: true,
        }),
    );
    const read: ReadCredentials = {
      accountId: name,
      read: s3 === null
        ? new AccessKey(`local-read-${name}`, `local-secret-${name}`.padEnd(40, "0"))
        : new AccessKey("S3RVER", "S3RVER"),
    };
    await chain.setCommitment(DEVNET_NETUID, identity.pair, encodeCommitment(read));
  }
  chain.addStake(DEVNET_NETUID, ids.get("validator")!.hotkey, 1000);
  const resolverFor = (name: string): StoreResolver => ({
    own: buckets.get(name)!,
    reader: (creds) => {
      const store = buckets.get(creds.accountId);
      if (store === undefined) {
        throw new Error(`No local bucket ${JSON.stringify(creds.accountId)}`);
      }
      return store;
    },
  });

  // The model, published as the trainer would: FULL checkpoint of window 0, READY-0.
  options.status?.("writing the tiny Qwen3 model and publishing checkpoint 0");
  const env = options.env ?? "sat";
  const echo = env === "echo-digit";
  const cutVocabSize = echo ? ECHO_DIGIT_DEVNET.cutVocabSize : undefined;
  const modelDir = await writeDevnetModel(join(dir, "model", "base"), {
    seed: 1,
    vocab: options.vocab,
    cutVocabSize,
  });
  const owner = ids.get("owner")!;
  const publishFields = {
    modelName: DEVNET_MODEL_NAME,
    envId: env,
    envParams: { split: "train", gpu_eval: false },
    // Temperature 0.05 (SAT): the random tiny model's logits are nearly flat, and the
    // distribution check's thresholds assume a trained model's confident samples. Echo-digit
    // needs exploration instead (see ECHO_DIGIT_DEVNET).
    generationParams: {
      max_tokens: options.maxTokens ?? 40,
      temperature: echo ? ECHO_DIGIT_DEVNET.temperature : 0.05,
      top_p: 1,
      top_k: 0,
      repetition_penalty: 1,
    },
    thinkingMode: "instructed" as const,
  };
  const sign = (msg: Uint8Array) =>
    Array.from(owner.pair.sign(msg), (b) => b.toString(16).padStart(2, "0")).join("");
  let trainer: Trainer | null = null;
  const trainerReports: TrainerWindowReport[] = [];
  if (options.trainer === true) {
    // The trainer publishes checkpoint 0 itself (a FULL, READY-0), then one per window.
    trainer = new Trainer({
      chain,
      netuid: DEVNET_NETUID,
      identity: owner,
      stores: resolverFor("owner"),
      baseModelDir: modelDir,
      workDir: join(dir, "roles", "owner", "work"),
      state: new StateFile<TrainerState>(join(dir, "roles", "owner", "state.json"), "trainer"),
      clock,
      logger: root.child("grail.trainer"),
      publish: publishFields,
      hyper: echo ? { ...ECHO_DIGIT_DEVNET.hyper } : undefined,
      // Each miner's problem is its own group; the reference's grouping by rollout_group alone
      // merges the miners' group 0s into groups of 32 and drops them (infra spec §12).
      groups: echo ? { keyBy: "hotkey" } : undefined,
      // Echo-digit: the trainer reads the honest miners' files directly (the reference's
      // test-mode trust list). The validator's distribution check is calibrated for trained
      // models and rejects temperature-1 samples of the random start, so its trust list would
      // stay empty until the policy has learned — the very thing this network demonstrates.
      trustedMiners: echo
        ? participants.filter((p) => p.kind === "honest").map((p) => p.hotkey)
        : undefined,
      onWindow: (r) => {
        trainerReports.push(r);
        print(
          `trainer: window ${r.window} trained on window ${r.dataWindow}: ${r.rollouts} rollouts from ${r.trustedMiners.length} miner(s), ${r.groups} group(s), ${
            r.training?.steps ?? 0
          } step(s); published ${r.published.join("+")} (${r.readyKey.split("/").pop()})`,
        );
        if (r.rollouts > 0) {
          print(
            `  mean reward of window ${r.dataWindow}'s trusted rollouts: ${
              r.meanReward.toFixed(3)
            }`,
          );
        }
      },
    });
    await trainer.resume();
    await trainer.trainWindow(0);
  } else {
    await publishFullCheckpoint(buckets.get("owner")!, {
      window: 0,
      dir: modelDir,
      fields: {
        trainingConfig: { ...DEFAULT_TRAINING_CONFIG },
        createdAt: clock.nowMs() / 1000,
        ...publishFields,
      },
      sign,
    });
    await markCheckpointReady(buckets.get("owner")!, 0, 0);
  }
  let otherModelDir: string | null = null;
  if (options.cheat === "other-model") {
    otherModelDir = await writeDevnetModel(join(dir, "model", "other"), {
      seed: 2,
      vocab: options.vocab,
      cutVocabSize,
    });
  }

  // drand: a local beacon on loopback. Its freshness check reads the network clock; its request
  // timeouts run on the wall clock (a timeout must not be skipped over by the fast-forward).
  const beacon = new LocalBeacon({
    seed: encoder.encode("grail-devnet-beacon-seed-32-bytes!"),
    genesisTime: Math.floor(genesisMs / 1000) - 30,
    periodSeconds: 3,
  });
  const beaconServer = await beacon.serve({ clock });
  const drand = new DrandClient({
    chain: beacon.info,
    relays: [beaconServer.url],
    // The beacon is served by this very process: a role's synchronous CPU forward can hold the
    // event loop for seconds, so the reference's 10 s relay timeout would fire spuriously.
    timeoutMs: 300_000,
    clock: { nowMs: () => clock.nowMs(), sleep: SYSTEM_CLOCK.sleep },
  });

  const backend = options.backend;
  const load = options.loadModel ??
    ((d: string, b: typeof backend) => loadModel(d, { backend: b }));
  if (
    backend === "webgpu" && options.loadModel === undefined &&
    (await navigator.gpu?.requestAdapter()) == null
  ) {
    throw new Error("No WebGPU adapter on this machine; run with --backend cpu");
  }
  const stop = new AbortController();
  options.signal?.addEventListener("abort", () => stop.abort(options.signal?.reason), {
    once: true,
  });
  const minerReports = new Map<string, MinerWindowReport[]>();
  const running: Promise<void>[] = [];
  const metrics = declareRoleMetrics(new Metrics());
  // A role error stops the network (the live roles retry; here it would loop unseen).
  let failure: unknown = null;
  const onError = (e: unknown) => {
    failure ??= e;
    stop.abort();
  };
  const status = (who: string) => (text: string) => options.status?.(`${who}: ${text}`);

  for (const p of participants.filter((p) => p.kind === "honest" || p.kind === "cheater")) {
    const identity = ids.get(p.name)!;
    const roleDir = join(dir, "roles", p.name);
    const cheat = p.kind === "cheater" ? options.cheat as Cheat : null;
    const loadRole = cheat === "other-model"
      ? () => load(otherModelDir!, backend)
      : (d: string) => load(d, backend);
    minerReports.set(p.name, []);
    const miner = new Miner({
      chain,
      netuid: DEVNET_NETUID,
      identity,
      stores: resolverFor(p.name),
      drand,
      loader: new WindowModelLoader({ cacheRoot: join(roleDir, "cache"), loadModel: loadRole }),
      clock,
      logger: root.child(`grail.miner[${p.name}]`),
      metrics,
      state: new StateFile<MinerState>(join(roleDir, "state.json"), "miner"),
      samplingSeed: p.uid,
      maxGroupsPerWindow: options.groupsPerWindow ?? 1,
      // Mining starts at window 30 (checkpoint 0 is READY before it); the validator needs
      // windows 30 … 30·N, so later windows would be wasted work.
      stopAfterWindow: 30 * options.windows,
      transform: cheat === null
        ? undefined
        : cheatTransform(cheat, participants.find((q) => q.kind === "honest")?.hotkey),
      onWindow: (r) => minerReports.get(p.name)!.push(r),
      onError,
      status: status(p.name),
    });
    await miner.resume();
    const leave = clock.enter();
    running.push(miner.run(stop.signal).finally(leave));
  }

  if (trainer !== null) {
    const leave = clock.enter();
    running.push(trainer.run(stop.signal).finally(leave));
  }

  const windows: ValidatorWindowReport[] = [];
  const restarts: DevnetResult["restarts"] = [];
  const vIdentity = ids.get("validator")!;
  const vDir = join(dir, "roles", "validator");
  const byUid = new Map(participants.map((p) => [p.uid, p]));
  const byHotkey = new Map(participants.map((p) => [p.hotkey, p]));
  let finalWeights: DevnetResult["finalWeights"] = null;
  let done!: () => void;
  const allDone = new Promise<void>((r) => (done = r));
  stop.signal.addEventListener("abort", () => done(), { once: true });
  let validatorStop = new AbortController();
  let restartPending: Promise<void> | null = null;

  const makeValidator = () =>
    new Validator({
      chain,
      netuid: DEVNET_NETUID,
      identity: vIdentity,
      stores: resolverFor("validator"),
      drand,
      loader: new WindowModelLoader({
        cacheRoot: join(vDir, "cache"),
        loadModel: (d) => load(d, backend),
      }),
      clock,
      logger: root.child("grail.validator"),
      metrics,
      state: new StateFile<ValidatorState>(join(vDir, "state.json"), "validator"),
      mode: options.mode,
      // The local network sets weights after every window (the live cadence is 360 blocks
      // after 12 windows) and scores uncapped: with 16 rollouts per window the live cap of
      // 60,000 would round every miner's share to 0 in u16.
      weightsIntervalBlocks: 30,
      minWindowsBeforeWeights: 1,
      weightOptions: { capEnabled: false },
      onWindow: onValidatorWindow,
      onError,
      status: status("validator"),
    });

  function onValidatorWindow(r: ValidatorWindowReport): void {
    if (r.skipped !== undefined) return;
    windows.push(r);
    printWindow(r);
    if (r.weights !== undefined) {
      const u16 = convertWeightsForEmit(r.weights.uids, r.weights.weights);
      finalWeights = r.weights.uids.map((uid, i) => ({
        uid,
        weight: r.weights!.weights[i],
        u16: u16.weights[u16.uids.indexOf(uid)] ?? 0,
      }));
    }
    const lastRestart = restarts[restarts.length - 1];
    if (lastRestart !== undefined && lastRestart.resumedWith === null) {
      lastRestart.resumedWith = r.target;
    }
    if (windows.length >= options.windows) {
      stop.abort();
      return;
    }
    if (
      options.restartValidatorAfter !== undefined &&
      windows.length === options.restartValidatorAfter
    ) {
      // Hold the clock while the validator is down, so the restart costs no chain time.
      const hold = clock.enter();
      validatorStop.abort();
      restartPending = (async () => {
        await validatorRun;
        const stoppedAfter = r.target;
        const v2 = makeValidator();
        await v2.resume();
        const st = v2.state;
        print(
          `  validator restarted: state says last processed window ${st.lastProcessed}, ${st.history.length} window(s) of history replayed`,
        );
        restarts.push({ stoppedAfter, resumedWith: null, replayed: st.history.length });
        validatorStop = new AbortController();
        stop.signal.addEventListener("abort", () => validatorStop.abort(), { once: true });
        validatorRun = runValidator(v2, validatorStop.signal);
      })().finally(hold);
    }
  }

  // The honest miners' rollouts of a window, weighted by count: the policy's reward (the
  // cheater's rows are forgeries and are left out).
  function honestMeanReward(window: number): { mean: number; rollouts: number } | null {
    let sum = 0, n = 0;
    for (const p of participants.filter((q) => q.kind === "honest")) {
      const rep = minerReports.get(p.name)?.find((x) => x.window === window);
      if (rep?.meanReward === undefined) continue;
      sum += rep.meanReward * rep.rollouts;
      n += rep.rollouts;
    }
    return n === 0 ? null : { mean: sum / n, rollouts: n };
  }

  function printWindow(r: ValidatorWindowReport): void {
    const name = (hk: string) => byHotkey.get(hk)?.name ?? hk.slice(0, 8);
    print(`window ${r.target}`);
    const produced = [...minerReports].map(([n, reps]) => {
      const rep = reps.find((x) => x.window === r.target);
      return `${n} ${rep?.rollouts ?? 0}`;
    });
    print(`  rollouts uploaded: ${produced.join(" · ")}`);
    const honest = honestMeanReward(r.target);
    if (honest !== null) {
      print(`  mean reward: ${honest.mean.toFixed(3)} (${honest.rollouts} honest rollouts)`);
    }
    print(
      `  on time: ${r.active.map(name).join(", ") || "none"}; checked: ${
        r.selected.map(name).join(", ") || "none"
      }`,
    );
    for (const m of r.miners) {
      const rej = Object.entries(m.rejected).map(([k, v]) => `${k} ×${v}`).join(", ");
      const gate = m.gated ? `, copycat-gated (${m.gated})` : "";
      const fail = m.metrics?.failure_reason ? ` → ${m.metrics.failure_reason}` : "";
      print(
        `  ${name(m.hotkey).padEnd(10)} ${m.passed}/${m.checked} pass${
          rej ? ` (rejected: ${rej})` : ""
        }${gate}${fail}`,
      );
    }
    if (r.weights !== undefined) {
      const w = r.weights.uids.map((uid, i) =>
        `${byUid.get(uid)?.name ?? uid} ${pct(r.weights!.weights[i])}`
      );
      print(`  weights set at block ${r.weights.block}: ${w.join(" · ")}`);
    } else {
      print("  weights: not set this window");
    }
  }

  async function runValidator(v: Validator, signal: AbortSignal): Promise<void> {
    const leave = clock.enter();
    try {
      await v.run(signal);
    } finally {
      leave();
    }
  }

  print(`grail devnet: state in ${dir}`);
  print(
    `  ${participants.length} participants on subnet ${DEVNET_NETUID}: ${
      participants.map((p) => `${p.name} (uid ${p.uid})`).join(", ")
    }`,
  );
  print(
    `  backend ${backend}, ${options.mode} mode, ${
      s3 === null ? "folder" : "s3rver"
    } buckets, cheat: ${options.cheat}, ${options.windows} window(s); log: ${
      join(dir, "devnet.log")
    }`,
  );
  const v1 = makeValidator();
  await v1.resume();
  let validatorRun = runValidator(v1, validatorStop.signal);
  stop.signal.addEventListener("abort", () => validatorStop.abort(), { once: true });

  try {
    await allDone;
    await restartPending;
    await Promise.all([...running, validatorRun]);
  } finally {
    stop.abort();
    await beaconServer.close();
    await s3?.close();
    logFile.close();
  }

  if (failure !== null) {
    throw new Error(
      `A role failed, the network stopped: ${(failure as Error).message ?? failure}`,
      {
        cause: failure,
      },
    );
  }
  const result: DevnetResult = {
    dir,
    participants,
    windows,
    minerReports,
    finalWeights,
    restarts,
    rewards: windows.flatMap((w) => {
      const m = honestMeanReward(w.target);
      return m === null ? [] : [{ window: w.target, meanReward: m.mean, rollouts: m.rollouts }];
    }),
    trainerReports,
    wallSeconds: (performance.now() - wall0) / 1000,
    chainSeconds: (clock.nowMs() - genesisMs) / 1000,
  };
  printSummary(result, print);
  return result;
}

function printSummary(r: DevnetResult, print: (l: string) => void): void {
  print("");
  print("summary");
  const header = [
    "participant",
    "uid",
    "kind",
    "uploads",
    "rollouts",
    "checked",
    "passed",
    "rejected by",
    "weight",
    "u16",
  ];
  const rows: string[][] = [];
  for (const p of r.participants) {
    const reps = r.minerReports.get(p.name) ?? [];
    const uploads = reps.filter((x) => x.status === "uploaded");
    let checked = 0, passed = 0;
    const rejected: Record<string, number> = {};
    for (const w of r.windows) {
      for (const m of w.miners.filter((m) => m.hotkey === p.hotkey)) {
        checked += m.checked;
        passed += m.passed;
        for (const [k, v] of Object.entries(m.rejected)) rejected[k] = (rejected[k] ?? 0) + v;
      }
    }
    const fw = r.finalWeights?.find((w) => w.uid === p.uid);
    const isMiner = p.kind === "honest" || p.kind === "cheater";
    rows.push([
      p.name,
      String(p.uid),
      p.kind,
      isMiner ? String(uploads.length) : "-",
      isMiner ? String(uploads.reduce((a, x) => a + x.rollouts, 0)) : "-",
      isMiner ? String(checked) : "-",
      isMiner ? String(passed) : "-",
      Object.entries(rejected).map(([k, v]) => `${k} ×${v}`).join(", ") || "-",
      fw === undefined ? "-" : pct(fw.weight),
      fw === undefined ? "-" : String(fw.u16),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  print(line(header));
  print(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) print(line(row));
  if (r.rewards.length > 0) {
    print("");
    print("window  mean reward  honest rollouts  trainer groups");
    for (const w of r.rewards) {
      // The trainer trains on window W's rollouts at window W + 30.
      const t = r.trainerReports.find((x) => x.dataWindow === w.window);
      print(
        `${String(w.window).padEnd(6)}  ${w.meanReward.toFixed(3).padEnd(11)}  ${
          String(w.rollouts).padEnd(15)
        }  ${t === undefined ? "-" : t.groups}`,
      );
    }
  }
  print("");
  print(
    `${r.windows.length} window(s) validated in ${r.wallSeconds.toFixed(1)} s wall time (${
      (r.chainSeconds / 60).toFixed(1)
    } min of chain time); state in ${r.dir}`,
  );
}
