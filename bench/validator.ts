/**
 * Validator throughput: a window file of 16 × N honest rollouts (mined once by the pipeline on
 * the fixture Qwen3 model, tokenizer cut to its 2048 ids), verified by `validateMinerFile` with
 * every row checked, per backend and mode. Prints one JSON object per line.
 *
 * Run: deno run -A bench/validator.ts [--groups N] [--no-webgpu]
 */

import { parseArgs } from "node:util";
import { loadModel } from "../src/model/load.ts";
import type { Model } from "../src/model/model.ts";
import type { Rollout } from "../src/protocol/rollout.ts";
import { loadLogitsSource } from "../src/roles/lm_head.ts";
import { mineGroup } from "../src/roles/miner_pipeline.ts";
import { validateMinerFile } from "../src/roles/validator_pipeline.ts";
import {
  devKey,
  minerConfig,
  QWEN3_TINY,
  TASK,
  WINDOW,
  WINDOW_RANDOMNESS,
} from "../tests/roles/_fixtures.ts";

const args = parseArgs({
  args: Deno.args,
  options: { groups: { type: "string" }, "no-webgpu": { type: "boolean" } },
});
const groups = Number(args.values.groups ?? "2");

function emit(
  device: string,
  shape: string,
  metric: string,
  value: number,
  unit: string,
  iterations: number,
) {
  console.log(
    JSON.stringify({ name: "validator", device, shape, metric, value, unit, iterations }),
  );
}

const config = await minerConfig("bench");
const rows: Rollout[] = [];
let t0 = performance.now();
for (let g = 0; g < groups; g++) {
  const mined = await mineGroup(config, g);
  if (!mined.ok) throw new Error(`group ${g} dropped: ${mined.detail}`);
  rows.push(...mined.rollouts);
}
const mineSeconds = (performance.now() - t0) / 1000;
const tokens = rows.reduce((s, r) => s + r.commit.tokens.length, 0);
const shape = `qwen3-tiny, ${rows.length} rollouts, ${tokens} tokens`;
emit("cpu", shape, "miner_rollouts_per_s", rows.length / mineSeconds, "rollouts/s", 1);

const { hotkey } = await devKey("bench");
const logits = await loadLogitsSource(QWEN3_TINY);
const backends: ("cpu" | "webgpu")[] = ["cpu"];
const adapter = args.values["no-webgpu"] ? null : await navigator.gpu?.requestAdapter();
if (adapter) backends.push("webgpu");
const adapterName = adapter?.info.description || adapter?.info.device || "unknown adapter";
for (const backend of backends) {
  const model: Model = await loadModel(QWEN3_TINY, { backend });
  const device = backend === "cpu" ? "cpu (float64 reference)" : `webgpu (${adapterName})`;
  for (const mode of ["compat", "strict"] as const) {
    t0 = performance.now();
    const result = await validateMinerFile(rows, {
      wallet: hotkey,
      windowStart: WINDOW.windowStart,
    }, {
      mode,
      minerHotkey: hotkey,
      model,
      modelName: "qwen3-tiny",
      tokenizer: config.tokenizer,
      task: TASK,
      logits,
      selection: "all",
      window: {
        windowStart: WINDOW.windowStart,
        blockHash: WINDOW.blockHash,
        challengeRandomness: "ab".repeat(32),
        beaconRandomness: WINDOW_RANDOMNESS,
        checkpointWindow: WINDOW.checkpointWindow,
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    if (result.metrics.had_failure !== 0) {
      throw new Error(`honest window failed: ${result.metrics.failure_reason}`);
    }
    emit(device, `${shape}, ${mode}`, "rollouts_per_s", rows.length / seconds, "rollouts/s", 1);
    emit(device, `${shape}, ${mode}`, "tokens_per_s", tokens / seconds, "tokens/s", 1);
  }
  model.dispose();
}
