/**
 * Honest work from another implementation: a group mined on the WebGPU backend verifies against
 * the CPU reference validator in both modes. Runs on any adapter (llvmpipe included).
 */

import { strictEqual } from "node:assert/strict";
import { loadModel } from "../../src/model/load.ts";
import { mineGroup } from "../../src/roles/miner_pipeline.ts";
import { devKey, minerConfig, QWEN3_TINY } from "./_fixtures.ts";
import { validate } from "./_forge.ts";

const adapter = await navigator.gpu?.requestAdapter().catch(() => null) ?? null;
if (adapter === null) console.log("cross_backend_test: no WebGPU adapter, test ignored");

Deno.test({
  name: "mineGroup() on WebGPU produces rollouts the CPU validator accepts in both modes",
  ignore: adapter === null,
  fn: async () => {
    const gpu = await loadModel(QWEN3_TINY, { backend: "webgpu" });
    try {
      const mined = await mineGroup(await minerConfig("gpu-miner", { model: gpu }), 0);
      strictEqual(mined.ok, true);
      if (!mined.ok) return;
      const { hotkey } = await devKey("gpu-miner");
      for (const mode of ["strict", "compat"] as const) {
        const result = await validate(mined.rollouts, hotkey, mode);
        strictEqual(result.metrics.had_failure, 0, `${mode}: ${result.metrics.failure_reason}`);
        strictEqual(result.rollouts.filter((v) => v.verdict === "pass").length, 16, mode);
      }
    } finally {
      gpu.dispose();
    }
  },
});
