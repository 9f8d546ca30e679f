import { ok as assert, rejects, strictEqual } from "node:assert/strict";
import { loadModel } from "../../src/model/load.ts";
import { makeTinyModel } from "../../src/model/tiny.ts";
import { gpuTest, maxAbsDiff } from "../gpu/_gpu.ts";

async function tinyDir(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await makeTinyModel(dir, { architecture: "qwen3", seed: 7 });
  return dir;
}

Deno.test("loadModel() with backend cpu gives the CPU reference", async () => {
  const dir = await tinyDir();
  try {
    const model = await loadModel(dir, { backend: "cpu" });
    strictEqual(model.backend, "cpu");
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModel() rejects an unknown backend with TypeError", async () => {
  // deno-lint-ignore no-explicit-any
  await rejects(loadModel("/nonexistent", { backend: "tpu" as any }), TypeError);
});

gpuTest(
  "loadModel() defaults to WebGPU and agrees with the CPU reference within 1e-4",
  async () => {
    // Both float32-or-better on a tiny random model: differences are summation order only.
    const dir = await tinyDir();
    try {
      const gpu = await loadModel(dir);
      const cpu = await loadModel(dir, { backend: "cpu" });
      strictEqual(gpu.backend, "webgpu");
      const seq = [[1, 5, 9, 2, 7, 3]];
      const [a] = await gpu.proofForward(seq);
      const [b] = await cpu.proofForward(seq);
      const d = maxAbsDiff(a.hidden, b.hidden);
      assert(d < 1e-4, `hidden diff ${d}`);
      gpu.dispose();
      cpu.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
