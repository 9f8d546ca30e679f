import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { cheatTransform, parseCheat } from "../../src/devnet/cheats.ts";
import { putWindowFile } from "../../src/net/window_file.ts";
import type { Rollout } from "../../src/protocol/rollout.ts";
import { verifyCommitSignature, verifyRolloutSignature } from "../../src/protocol/signature.ts";
import { Miner, type MinerState, type MinerTransformContext } from "../../src/roles/miner.ts";
import { StateFile } from "../../src/roles/state.ts";
import { NETUID, type TestNetwork, testNetwork } from "../roles/_network.ts";

/** Mines window 30 as the test miner and captures the rows and the transform context. */
async function mined(net: TestNetwork): Promise<{ rows: Rollout[]; ctx: MinerTransformContext }> {
  net.toBlock(30);
  let got: { rows: Rollout[]; ctx: MinerTransformContext } | null = null;
  await new Miner({
    chain: net.chain,
    netuid: NETUID,
    identity: net.ids.miner,
    stores: net.resolver("miner"),
    drand: net.drand,
    loader: net.loader("miner"),
    clock: net.clock,
    logger: net.logger,
    metrics: net.metrics,
    state: new StateFile<MinerState>(`${net.dir}/s.json`, "miner"),
    samplingSeed: 1,
    maxGroupsPerWindow: 1,
    transform: (rows, ctx) => {
      got = { rows, ctx };
      return Promise.resolve(rows);
    },
  }).mineWindow(30);
  return got!;
}

Deno.test("parseCheat() accepts the listed cheats and names them on a typo", () => {
  deepStrictEqual(parseCheat("zero-sketch"), "zero-sketch");
  throws(() => parseCheat("zero"), /zero-sketch, tampered-logprobs, copycat, other-model/);
});

Deno.test("cheatTransform() forges rows that still carry valid signatures", async () => {
  const net = await testNetwork();
  try {
    const { rows, ctx } = await mined(net);
    const zero = await cheatTransform("zero-sketch")(rows, ctx);
    ok(zero.every((r) => r.commit.commitments.every((c) => c.sketch === 0)));
    ok(zero.every((r) => verifyCommitSignature(r.commit, ctx.identity.hotkey)));

    const lp = await cheatTransform("tampered-logprobs")(rows, ctx);
    const pl = rows[0].commit.rollout.prompt_length;
    ok(lp[0].commit.rollout.token_logprobs[pl] !== rows[0].commit.rollout.token_logprobs[pl]);
    deepStrictEqual(
      lp[0].commit.rollout.token_logprobs.slice(0, pl),
      rows[0].commit.rollout.token_logprobs.slice(0, pl),
    );

    // Copycat: another miner's file, re-signed under the cheater's own hotkey.
    const victim = net.ids.owner;
    await putWindowFile(net.buckets.get("owner")!, {
      wallet: victim.hotkey,
      windowStart: 30,
      timestamp: 1,
      rollouts: rows.map((r) => ({ ...r, hotkey: victim.hotkey })),
    });
    const copied = await cheatTransform("copycat", victim.hotkey)(rows, ctx);
    deepStrictEqual(copied.map((r) => r.commit.tokens), rows.map((r) => r.commit.tokens));
    ok(copied.every((r) => r.hotkey === ctx.identity.hotkey && verifyRolloutSignature(r)));
  } finally {
    await net.close();
  }
});
