/**
 * The local network's cheater: a miner that runs the honest pipeline and then forges its rows in
 * one configurable way before upload, re-signing whatever the forgery invalidates so that the
 * only thing wrong is the cheat itself.
 *
 * - `zero-sketch`: every commitment set to 0 (v5's tolerance accepts this; strict mode does not).
 * - `tampered-logprobs`: completion log-probs shifted by +0.7 nats (claims a likelier sample).
 * - `copycat`: uploads another miner's rows for the window under its own hotkey.
 * - `other-model`: generates and commits with other weights while claiming the checkpoint
 *   (wired by loading another model, see `devnet.ts`; the rows are left as mined).
 *
 * @module
 */

import { windowFileKey } from "../net/storage.ts";
import { decodeWindowFile } from "../net/window_file.ts";
import type { Rollout } from "../protocol/rollout.ts";
import { signCommit, signRolloutChallenge } from "../protocol/signature.ts";
import type { MinerTransformContext } from "../roles/miner.ts";
import { committedBuckets } from "../roles/network.ts";

/** The cheats the devnet offers. */
export const CHEATS: readonly string[] = Object.freeze([
  "zero-sketch",
  "tampered-logprobs",
  "copycat",
  "other-model",
]);

/** A cheat name. */
export type Cheat = "zero-sketch" | "tampered-logprobs" | "copycat" | "other-model";

/**
 * Checks a cheat name.
 *
 * @param name From the command line.
 * @returns The cheat.
 * @throws {RangeError} Naming the accepted values.
 *
 * @example
 * ```ts
 * import { parseCheat } from "./cheats.ts";
 * if (parseCheat("copycat") !== "copycat") throw new Error();
 * ```
 */
export function parseCheat(name: string): Cheat {
  if (!CHEATS.includes(name)) {
    throw new RangeError(
      `Unknown cheat ${JSON.stringify(name)}: expected one of ${CHEATS.join(", ")}`,
    );
  }
  return name as Cheat;
}

function resignCommit(r: Rollout, ctx: MinerTransformContext): Rollout {
  const { signature: _old, ...unsigned } = r.commit;
  return { ...r, commit: { ...r.commit, signature: signCommit(unsigned, ctx.identity.keypair) } };
}

/**
 * A miner transform applying `cheat` (identity for `other-model`, whose forgery is the model).
 *
 * @param cheat The cheat.
 * @param victim For `copycat`: the hotkey whose rows are copied.
 * @returns The transform for `MinerOptions.transform`.
 * @throws {RangeError} For `copycat` without a victim.
 */
export function cheatTransform(
  cheat: Cheat,
  victim?: string,
): (rollouts: Rollout[], ctx: MinerTransformContext) => Promise<Rollout[]> {
  switch (cheat) {
    case "zero-sketch":
      return (rows, ctx) =>
        Promise.resolve(rows.map((r) =>
          resignCommit({
            ...r,
            commit: { ...r.commit, commitments: r.commit.commitments.map(() => ({ sketch: 0 })) },
          }, ctx)
        ));
    case "tampered-logprobs":
      return (rows) =>
        Promise.resolve(rows.map((r) => {
          const ro = r.commit.rollout;
          const lp = ro.token_logprobs.map((
            x,
            i,
          ) => (i >= ro.prompt_length ? Math.min(0, x + 0.7) : x));
          return { ...r, commit: { ...r.commit, rollout: { ...ro, token_logprobs: lp } } };
        }));
    case "other-model":
      return (rows) => Promise.resolve(rows);
    case "copycat": {
      if (victim === undefined) throw new RangeError("The copycat cheat needs a victim hotkey");
      return async (rows, ctx) => {
        const copied = await waitForFile(victim, ctx);
        if (copied === null) return rows;
        const hotkey = ctx.identity.hotkey;
        return copied.map((r) =>
          resignCommit({
            ...r,
            hotkey,
            signature: signRolloutChallenge(r.challenge, ctx.identity.keypair),
          }, ctx)
        );
      };
    }
  }
}

/** Polls the victim's bucket until its file for the window appears (or the window ends). */
async function waitForFile(victim: string, ctx: MinerTransformContext): Promise<Rollout[] | null> {
  const w = ctx.window.windowStart;
  const key = windowFileKey(victim, w);
  while ((await ctx.chain.currentBlock()) < w + 30) {
    const creds = (await committedBuckets(ctx.chain, ctx.netuid)).get(victim);
    if (creds !== undefined) {
      const store = ctx.stores.reader(creds);
      if (await store.head(key) !== null) {
        return decodeWindowFile(await store.get(key), key, { validateRows: false }).rollouts;
      }
    }
    await ctx.clock.sleep(2000);
  }
  return null;
}
