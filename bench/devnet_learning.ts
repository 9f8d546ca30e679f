/**
 * Runs the devnet with the echo-digit environment (src/devnet/devnet.ts, `--env echo-digit`) on
 * the CPU backend and writes the honest miners' mean reward and success rate per validated window
 * to an SVG; prints one JSON object per window.
 * Usage: deno run -A bench/devnet_learning.ts [windows=20] [svgPath=docs/devnet_learning.svg]
 *   [groups=4]
 */
import { runDevnet } from "../src/devnet/devnet.ts";
import { FolderStore } from "../src/net/folder_store.ts";
import { windowFileKey } from "../src/net/storage.ts";
import { getWindowFile } from "../src/net/window_file.ts";
import { type LearningDemoRow, rewardSvg } from "../src/train/learning_demo.ts";

if (import.meta.main) {
  const windows = Number(Deno.args[0] ?? 20);
  const svgPath = Deno.args[1] ?? "docs/devnet_learning.svg";
  const groups = Number(Deno.args[2] ?? 4);
  const dir = await Deno.makeTempDir({ prefix: "grail-devnet-learning-" });
  try {
    const result = await runDevnet({
      dir,
      windows,
      honestMiners: 2,
      cheat: "none",
      backend: "cpu",
      mode: "strict",
      trainer: true,
      env: "echo-digit",
      groupsPerWindow: groups,
      print: () => {},
    });
    const rows: LearningDemoRow[] = [];
    for (const w of result.rewards) {
      let rollouts = 0, successes = 0, checkpointWindow = -1;
      for (const p of result.participants.filter((q) => q.kind === "honest")) {
        const store = new FolderStore(`${result.dir}/buckets/${p.name}`);
        const key = windowFileKey(p.hotkey, w.window);
        if (await store.head(key) === null && await store.head(`${key}.gz`) === null) continue;
        const file = await getWindowFile(store, p.hotkey, w.window);
        rollouts += file.rollouts.length;
        successes += file.rollouts.filter((r) => r.commit.rollout.success).length;
        checkpointWindow = Math.max(
          checkpointWindow,
          ...file.rollouts.map((r) => r.checkpoint_window),
        );
      }
      const trained = result.trainerReports.find((t) => t.dataWindow === w.window);
      const row: LearningDemoRow = {
        window: w.window,
        checkpointWindow,
        meanReward: w.meanReward,
        successRate: rollouts === 0 ? 0 : successes / rollouts,
        loss: trained?.training?.meanLoss ?? NaN,
        published: trained?.published.join("+") ?? "-",
      };
      rows.push(row);
      console.log(JSON.stringify({
        name: "devnet_learning",
        device: "cpu (float64 reference trainer, CPU forward)",
        shape:
          `devnet echo-digit, tiny qwen3 C=64 L=2 V=300, 2 miners x ${groups} groups x 16 rollouts x 40 tokens`,
        metric: "mean_reward",
        value: w.meanReward,
        unit: "reward",
        iterations: 1,
        window: w.window,
        checkpoint_window: checkpointWindow,
        rollouts: w.rollouts,
        success_rate: row.successRate,
        trainer_groups: trained?.groups ?? 0,
        wall_s: result.wallSeconds,
      }));
    }
    await Deno.writeTextFile(
      svgPath,
      rewardSvg(rows, "grail devnet --env echo-digit: honest miners' reward per window"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
