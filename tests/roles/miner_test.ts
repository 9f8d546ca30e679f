import { deepStrictEqual, match, ok } from "node:assert/strict";
import { windowFileKey } from "../../src/net/storage.ts";
import { decodeWindowFile } from "../../src/net/window_file.ts";
import { Miner, type MinerOptions, type MinerState } from "../../src/roles/miner.ts";
import { StateFile } from "../../src/roles/state.ts";
import { NETUID, type TestNetwork, testNetwork } from "./_network.ts";

function miner(net: TestNetwork, extra: Partial<MinerOptions> = {}): Miner {
  return new Miner({
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
    ...extra,
  });
}

Deno.test("Miner.mineWindow() mines a group and uploads the window file before the deadline", async () => {
  const net = await testNetwork();
  try {
    net.toBlock(30);
    const m = miner(net);
    const report = await m.mineWindow(30);
    deepStrictEqual([report.status, report.rollouts, report.groups], ["uploaded", 16, 1]);
    const key = windowFileKey(net.ids.miner.hotkey, 30);
    deepStrictEqual(report.key, key);
    const file = decodeWindowFile(await net.buckets.get("miner")!.get(key), key);
    deepStrictEqual([file.wallet, file.windowStart, file.rollouts.length], [
      net.ids.miner.hotkey,
      30,
      16,
    ]);
    deepStrictEqual(file.rollouts[0].checkpoint_window, 0);
    deepStrictEqual(m.state.lastWindow, 30);
    deepStrictEqual(net.metrics.value("grail_rollouts_uploaded_total"), 16);
    ok(net.lines.some((l) => l.includes('[grail.miner.timing] {"event":"group_timing"')));
    ok(net.lines.some((l) => l.includes("Successfully uploaded window 30")));
  } finally {
    await net.close();
  }
});

Deno.test("Miner.mineWindow() skips a window with no checkpoint READY before it", async () => {
  const net = await testNetwork();
  try {
    net.toBlock(5);
    const report = await miner(net).mineWindow(0);
    deepStrictEqual(report.status, "no_checkpoint");
  } finally {
    await net.close();
  }
});

Deno.test("Miner.mineWindow() does not start generating when too few blocks remain", async () => {
  const net = await testNetwork();
  try {
    net.toBlock(52); // 8 blocks left; the default budget needs 10
    const report = await miner(net).mineWindow(30);
    deepStrictEqual(report.status, "no_time");
    match(report.detail!, /8 blocks remain, need 10/);
    deepStrictEqual(await net.buckets.get("miner")!.list("grail/windows/"), []);
  } finally {
    await net.close();
  }
});

Deno.test("Miner.run() resumes from its state file without mining a finished window again", async () => {
  const net = await testNetwork();
  try {
    net.toBlock(31);
    const state = new StateFile<MinerState>(`${net.dir}/state/miner.json`, "miner");
    await state.save({
      lastWindow: 30,
      uploads: [{ window: 30, key: "k", rollouts: 16, uploadedAtMs: 1 }],
    });
    const reports: string[] = [];
    const m = miner(net, { stopAfterWindow: 30, onWindow: (r) => reports.push(r.status) });
    await m.resume();
    await m.run(new AbortController().signal);
    deepStrictEqual(reports, []);
    deepStrictEqual(m.state.uploads.length, 1);
  } finally {
    await net.close();
  }
});

Deno.test("Miner.run() stops at once when its signal is aborted", async () => {
  const net = await testNetwork({ publish: false });
  try {
    const stop = new AbortController();
    stop.abort();
    await miner(net).run(stop.signal);
  } finally {
    await net.close();
  }
});
