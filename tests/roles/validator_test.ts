import { deepStrictEqual, ok } from "node:assert/strict";
import { trustListKey } from "../../src/net/storage.ts";
import { Miner, type MinerState } from "../../src/roles/miner.ts";
import { StateFile } from "../../src/roles/state.ts";
import {
  Validator,
  type ValidatorOptions,
  type ValidatorState,
} from "../../src/roles/validator.ts";
import { NETUID, type TestNetwork, testNetwork } from "./_network.ts";

function validator(net: TestNetwork, extra: Partial<ValidatorOptions> = {}): Validator {
  return new Validator({
    chain: net.chain,
    netuid: NETUID,
    identity: net.ids.validator,
    stores: net.resolver("validator"),
    drand: net.drand,
    loader: net.loader("validator"),
    clock: net.clock,
    logger: net.logger.child("grail.validator"),
    metrics: net.metrics,
    state: new StateFile<ValidatorState>(`${net.dir}/state/validator.json`, "validator"),
    mode: "strict",
    weightsIntervalBlocks: 30,
    minWindowsBeforeWeights: 1,
    weightOptions: { capEnabled: false },
    ...extra,
  });
}

async function mineWindow30(net: TestNetwork): Promise<void> {
  net.toBlock(30);
  const report = await new Miner({
    chain: net.chain,
    netuid: NETUID,
    identity: net.ids.miner,
    stores: net.resolver("miner"),
    drand: net.drand,
    loader: net.loader("miner"),
    clock: net.clock,
    logger: net.logger.child("grail.miner"),
    metrics: net.metrics,
    state: new StateFile<MinerState>(`${net.dir}/state/miner.json`, "miner"),
    samplingSeed: 7,
    maxGroupsPerWindow: 1,
  }).mineWindow(30);
  if (report.status !== "uploaded") throw new Error(`miner: ${report.status} ${report.detail}`);
}

Deno.test("Validator.processWindow() validates an honest miner's file, publishes trust and sets weights", async () => {
  const net = await testNetwork();
  try {
    await mineWindow30(net);
    net.toBlock(61);
    const v = validator(net);
    const r = await v.processWindow(30, 61);
    const minerUid = 2;
    deepStrictEqual(r.active, [net.ids.miner.hotkey]);
    deepStrictEqual(r.miners.map((m) => [m.uid, m.status, m.passed, m.checked]), [[
      minerUid,
      "validated",
      16,
      16,
    ]]);
    ok(r.weights !== undefined);
    deepStrictEqual(r.weights.u16.uids, [0, minerUid]); // burn to UID 0, the rest to the miner
    deepStrictEqual(net.metrics.value("grail_rollouts_verified_total"), 16);
    const trust = JSON.parse(
      new TextDecoder().decode(await net.buckets.get("validator")!.get(trustListKey(30))),
    );
    deepStrictEqual([trust.version, trust.window, trust.eligible_hotkeys], [1, 30, [
      net.ids.miner.hotkey,
    ]]);
    ok(
      net.lines.some((l) => l.includes('[grail.validator.verdict] {"event":"verdict","window":30')),
    );
    deepStrictEqual((await v.state).lastProcessed, 30);
  } finally {
    await net.close();
  }
});

Deno.test("Validator.processWindow() ignores a file uploaded after the deadline", async () => {
  const net = await testNetwork();
  try {
    await mineWindow30(net);
    // Rewrite the file's time to after the deadline (block 60 − 4 s).
    const root = net.buckets.get("miner")!.root;
    const late = new Date(1_800_000_000_000 + 60 * 12_000);
    for await (const e of Deno.readDir(`${root}/grail/windows`)) {
      await Deno.utime(`${root}/grail/windows/${e.name}`, late, late);
    }
    net.toBlock(61);
    const r = await validator(net).processWindow(30, 61);
    deepStrictEqual([r.active, r.miners], [[], []]);
    ok(net.lines.some((l) => l.includes("LATE UPLOAD")));
  } finally {
    await net.close();
  }
});

Deno.test("Validator.resume() replays the saved windows so scores survive a restart", async () => {
  const net = await testNetwork();
  try {
    await mineWindow30(net);
    net.toBlock(61);
    await validator(net).processWindow(30, 61);
    // A new process: same state file. Window 60 has no files, yet the miner keeps its weight
    // from window 30 (12-window scoring), which only the replayed history can give.
    const v2 = validator(net);
    await v2.resume();
    deepStrictEqual(v2.state.lastProcessed, 30);
    net.toBlock(91);
    const r = await v2.processWindow(60, 91);
    const w = r.weights!;
    ok(w.weights[w.uids.indexOf(2)] > 0, JSON.stringify(w));
    deepStrictEqual(v2.state.history.map((h) => h.target), [30, 60]);
  } finally {
    await net.close();
  }
});

Deno.test("Validator.processWindow() skips a window without a checkpoint and records it", async () => {
  const net = await testNetwork({ publish: false });
  try {
    net.toBlock(61);
    const v = validator(net);
    const r = await v.processWindow(30, 61);
    ok(r.skipped?.includes("No checkpoint READY before window 30"));
    deepStrictEqual(v.state.lastProcessed, 30);
  } finally {
    await net.close();
  }
});

Deno.test("Validator.processWindow() consumes a weight interval before enough windows, as the reference", async () => {
  const net = await testNetwork();
  try {
    net.toBlock(61);
    const v = validator(net, { minWindowsBeforeWeights: 12 });
    const r = await v.processWindow(30, 61);
    deepStrictEqual(r.weights, undefined);
    deepStrictEqual(v.state.lastWeightsInterval, 2);
  } finally {
    await net.close();
  }
});
