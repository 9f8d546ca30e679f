import { deepStrictEqual, notDeepStrictEqual, rejects } from "node:assert/strict";
import { loadStateDict } from "../../src/net/checkpoint/local_weights.ts";
import {
  DEFAULT_TRAINING_CONFIG,
  markCheckpointReady,
  publishDeltaCheckpoint,
} from "../../src/net/checkpoint/publish.ts";
import { NoCheckpointError } from "../../src/roles/window_model.ts";
import { testNetwork } from "./_network.ts";

const FIELDS = {
  trainingConfig: { ...DEFAULT_TRAINING_CONFIG },
  createdAt: 1,
  modelName: "test/qwen3-tiny",
  envId: "sat",
  envParams: { split: "train", gpu_eval: false },
  generationParams: {
    max_tokens: 36,
    temperature: 0.05,
    top_p: 1,
    top_k: 0,
    repetition_penalty: 1,
  },
  thinkingMode: "instructed" as const,
};

Deno.test("WindowModelLoader.forWindow() loads the checkpoint READY before the window and keeps it loaded", async () => {
  const net = await testNetwork();
  const loader = net.loader("m");
  try {
    const owner = net.buckets.get("owner")!;
    const a = await loader.forWindow(owner, 30);
    deepStrictEqual([a.loaded, a.model.checkpointWindow, a.model.modelName], [
      true,
      0,
      "test/qwen3-tiny",
    ]);
    deepStrictEqual([a.model.task.envId, a.model.task.generation.maxNewTokens], ["sat", 36]);
    const b = await loader.forWindow(owner, 60);
    deepStrictEqual([b.loaded, b.model.checkpointWindow], [false, 0]);
  } finally {
    loader.dispose();
    await net.close();
  }
});

Deno.test("WindowModelLoader.forWindow() refreshes to a newer DELTA checkpoint and rebuilds its weights", async () => {
  const net = await testNetwork();
  const loader = net.loader("m");
  try {
    const owner = net.buckets.get("owner")!;
    const first = await loader.forWindow(owner, 30);
    const [p0] = await first.model.model.proofForward([[1, 2, 3, 4]]);
    // The trainer publishes checkpoint 30 as a delta on 0 (one tensor changed), READY in 30.
    const base = await loadStateDict(first.model.dir);
    const current = new Map(base);
    const name = "model.norm.weight";
    const t = base.get(name)!;
    const data = t.data.slice();
    for (let i = 0; i < data.length; i += 2) data[i + 1] ^= 0x01; // flip a bf16 exponent bit
    current.set(name, { ...t, data });
    await publishDeltaCheckpoint(owner, {
      window: 30,
      prevWindow: 0,
      anchorWindow: 0,
      current,
      base,
      fields: FIELDS,
    });
    await markCheckpointReady(owner, 30, 30);
    deepStrictEqual((await loader.forWindow(owner, 30)).model.checkpointWindow, 0); // R < W only
    const next = await loader.forWindow(owner, 60);
    deepStrictEqual([next.loaded, next.model.checkpointWindow], [true, 30]);
    const [p1] = await next.model.model.proofForward([[1, 2, 3, 4]]);
    notDeepStrictEqual(p1.hidden, p0.hidden);
  } finally {
    loader.dispose();
    await net.close();
  }
});

Deno.test("WindowModelLoader.forWindow() reports a window with no checkpoint READY before it", async () => {
  const net = await testNetwork({ publish: false });
  try {
    await rejects(
      () => net.loader("m").forWindow(net.buckets.get("owner")!, 30),
      NoCheckpointError,
    );
  } finally {
    await net.close();
  }
});
