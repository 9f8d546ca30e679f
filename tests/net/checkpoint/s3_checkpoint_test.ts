// End to end over a real S3 server on loopback (npm:s3rver): the trainer publishes a FULL
// checkpoint and two deltas plus READY markers; a consumer finds the checkpoint for a window,
// rebuilds it and gets the trainer's weights bit for bit.
import { deepStrictEqual } from "node:assert/strict";
import { join } from "node:path";
import { findReadyCheckpoint, reconstructCheckpoint } from "../../../src/net/checkpoint/fetch.ts";
import { loadStateDict, saveStateDict } from "../../../src/net/checkpoint/local_weights.ts";
import {
  DEFAULT_TRAINING_CONFIG,
  markCheckpointReady,
  publishDeltaCheckpoint,
  type PublishFields,
  publishFullCheckpoint,
} from "../../../src/net/checkpoint/publish.ts";
import { castTensor, type StateDict } from "../../../src/net/checkpoint/state_dict.ts";
import { s3rverStore, startS3rver } from "../_s3rver.ts";
import { goldenStateDict } from "./_golden.ts";

const FIELDS: PublishFields = {
  trainingConfig: { ...DEFAULT_TRAINING_CONFIG },
  createdAt: 1764000000.5,
  envId: "sat",
  envParams: { split: "train", gpu_eval: false },
  generationParams: {
    max_tokens: 512,
    temperature: 0.7,
    top_p: 0.9,
    top_k: 50,
    repetition_penalty: 1,
  },
  thinkingMode: "instructed",
};

function weightsAt(step: number): StateDict {
  const w = new Map([...goldenStateDict(step > 0)].map(([k, t]) => [k, castTensor(t, "BF16")]));
  if (step > 1) {
    const t = w.get("model.norm.weight")!;
    const data = t.data.slice();
    data[0] ^= 0x02;
    w.set("model.norm.weight", { ...t, data });
  }
  return w;
}

Deno.test("reconstructCheckpoint() rebuilds a chain published to S3", async () => {
  const s3 = await startS3rver();
  const store = s3rverStore(s3);
  const root = await Deno.makeTempDir();
  try {
    const staging = join(root, "staging");
    await Deno.mkdir(staging);
    await Deno.writeTextFile(join(staging, "config.json"), "{}");
    await saveStateDict(staging, weightsAt(0));
    await publishFullCheckpoint(store, { window: 300, dir: staging, fields: FIELDS });
    await markCheckpointReady(store, 300, 301);
    for (const step of [1, 2]) {
      await publishDeltaCheckpoint(store, {
        window: 300 + 30 * step,
        prevWindow: 300 + 30 * (step - 1),
        anchorWindow: 300,
        current: weightsAt(step),
        base: weightsAt(step - 1),
        format: step === 1 ? "sparse_codec_v2" : "sparse_codec_v3",
        fields: FIELDS,
      });
      await markCheckpointReady(store, 300 + 30 * step, 300 + 30 * step + 1);
    }
    const ready = await findReadyCheckpoint(store, 390);
    deepStrictEqual(ready, { window: 360, readyWindow: 361 });
    const local = await reconstructCheckpoint(store, ready!.window, {
      cacheRoot: join(root, "cache"),
    });
    deepStrictEqual(await loadStateDict(local.dir), weightsAt(2));
  } finally {
    store.close();
    await s3.close();
    await Deno.remove(root, { recursive: true });
  }
});
