// Round trips through a real object store (FolderStore over a temp folder): publish as the
// trainer, consume as a miner/validator. Weights compare bit for bit; every tamper must be
// refused with a PublishedCheckpointError code. The weights are the golden tensors of _golden.ts cast to
// bf16 (a mixed-dtype base would be cast by apply, as in the reference, and miss hash_current).
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { PublishedCheckpointError } from "../../../src/net/checkpoint/published_checkpoint_error.ts";
import {
  applyDeltaInMemory,
  downloadFullCheckpoint,
  findReadyCheckpoint,
  pruneCheckpointCache,
  reconstructCheckpoint,
  verifiedCachedCheckpoint,
} from "../../../src/net/checkpoint/fetch.ts";
import { checkpointTypePrefix } from "../../../src/net/checkpoint/layout.ts";
import {
  computeFolderWeightsHash,
  loadStateDict,
  saveStateDict,
} from "../../../src/net/checkpoint/local_weights.ts";
import { computeWeightsHash } from "../../../src/net/checkpoint/weights_hash.ts";
import {
  canonicalMetadataJson,
  computeConfigHash,
  parseCheckpointMetadata,
  PythonFloat,
} from "../../../src/net/checkpoint/metadata.ts";
import {
  cleanupRemoteCheckpoints,
  DEFAULT_TRAINING_CONFIG,
  markCheckpointReady,
  publishDeltaCheckpoint,
  type PublishFields,
  publishFullCheckpoint,
} from "../../../src/net/checkpoint/publish.ts";
import { castTensor, type StateDict } from "../../../src/net/checkpoint/state_dict.ts";
import { FolderStore } from "../../../src/net/folder_store.ts";
import { goldenStateDict } from "./_golden.ts";

const FIELDS: PublishFields = {
  trainingConfig: { ...DEFAULT_TRAINING_CONFIG },
  createdAt: 1764000000.5,
  envId: "sat",
  envParams: { split: "train", gpu_eval: false },
  generationParams: {
    max_tokens: 2048,
    temperature: 0.7,
    top_p: 0.9,
    top_k: 50,
    repetition_penalty: 1,
  },
  thinkingMode: "instructed",
};

function bf16(weights: StateDict): StateDict {
  return new Map([...weights].map(([k, t]) => [k, castTensor(t, "BF16")]));
}

/** Weights after `step` training steps: step 0 = golden base, step 1 = golden current, … */
function weightsAt(step: number): StateDict {
  const w = bf16(goldenStateDict(step > 0));
  if (step > 1) {
    const t = w.get("model.norm.weight")!;
    const data = t.data.slice();
    data[2 * step] ^= 0x01;
    w.set("model.norm.weight", { ...t, data });
  }
  return w;
}

interface Env {
  store: FolderStore;
  root: string;
  cacheRoot: string;
  fullDir: string;
}

async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    const fullDir = join(root, "staging");
    await Deno.mkdir(fullDir);
    await Deno.writeTextFile(join(fullDir, "config.json"), '{"model_type": "qwen3"}');
    await Deno.writeTextFile(join(fullDir, "tokenizer.json"), '{"version": "1.0"}');
    await saveStateDict(fullDir, weightsAt(0));
    await fn({
      store: new FolderStore(join(root, "bucket")),
      root,
      cacheRoot: join(root, "cache"),
      fullDir,
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function publishChain(env: Env, steps: number): Promise<void> {
  await publishFullCheckpoint(env.store, { window: 0, dir: env.fullDir, fields: FIELDS });
  await markCheckpointReady(env.store, 0, 0);
  for (let s = 1; s <= steps; s++) {
    await publishDeltaCheckpoint(env.store, {
      window: 30 * s,
      prevWindow: 30 * (s - 1),
      anchorWindow: 0,
      current: weightsAt(s),
      base: weightsAt(s - 1),
      fields: FIELDS,
    });
    await markCheckpointReady(env.store, 30 * s, 30 * s + 29);
  }
}

const hasCode = (code: string) => (e: unknown) => {
  ok(e instanceof PublishedCheckpointError, String(e));
  strictEqual(e.code, code, e.message);
  return true;
};

Deno.test("downloadFullCheckpoint() fetches a published FULL checkpoint byte for byte", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 0);
    deepStrictEqual(await findReadyCheckpoint(env.store, 30), { window: 0, readyWindow: 0 });
    const dest = join(env.root, "got");
    const meta = await downloadFullCheckpoint(env.store, 0, dest);
    for (const f of ["config.json", "tokenizer.json", "model.safetensors"]) {
      deepStrictEqual(
        await Deno.readFile(join(dest, f)),
        await Deno.readFile(join(env.fullDir, f)),
      );
    }
    strictEqual(meta.checkpoint_type, "FULL");
    deepStrictEqual(meta.training_config.lr, new PythonFloat(1e-6));
  });
});

Deno.test("downloadFullCheckpoint() refuses a file whose SHA-256 differs", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 0);
    const key = `${checkpointTypePrefix(0, "FULL")}tokenizer.json`;
    await env.store.put(key, new TextEncoder().encode('{"version": "1.1"}'));
    const dest = join(env.root, "got");
    await rejects(downloadFullCheckpoint(env.store, 0, dest), hasCode("hash_mismatch"));
    await rejects(Deno.stat(dest), Deno.errors.NotFound);
  });
});

Deno.test("downloadFullCheckpoint() refuses weights that do not match weights_hash", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 0);
    const key = `${checkpointTypePrefix(0, "FULL")}metadata.json`;
    const text = new TextDecoder().decode(await env.store.get(key));
    const meta = parseCheckpointMetadata(text, key);
    const forged = text.replace(meta.weights_hash!, "0".repeat(32));
    await env.store.put(key, new TextEncoder().encode(forged));
    await rejects(
      downloadFullCheckpoint(env.store, 0, join(env.root, "got")),
      hasCode("weights_hash_mismatch"),
    );
  });
});

Deno.test("reconstructCheckpoint() rebuilds a delta chain bit for bit", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 3);
    deepStrictEqual(await findReadyCheckpoint(env.store, 120), { window: 90, readyWindow: 119 });
    const local = await reconstructCheckpoint(env.store, 90, { cacheRoot: env.cacheRoot });
    deepStrictEqual(await loadStateDict(local.dir), weightsAt(3));
    strictEqual(local.metadata.checkpoint_type, "FULL");
    deepStrictEqual(local.metadata.extra, {
      reconstructed_from_delta: true,
      original_anchor_window: 0,
    });
    ok((await verifiedCachedCheckpoint(env.cacheRoot, 90)) !== null);
    strictEqual(await Deno.readTextFile(join(local.dir, "config.json")), '{"model_type": "qwen3"}');
  });
});

Deno.test("reconstructCheckpoint() starts from a verified cached predecessor", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 2);
    await reconstructCheckpoint(env.store, 30, { cacheRoot: env.cacheRoot });
    // With checkpoint 30 cached, checkpoint 0 is no longer needed remotely.
    await env.store.delete(`${checkpointTypePrefix(0, "FULL")}model.safetensors`);
    const local = await reconstructCheckpoint(env.store, 60, { cacheRoot: env.cacheRoot });
    deepStrictEqual(await loadStateDict(local.dir), weightsAt(2));
  });
});

Deno.test("reconstructCheckpoint() refuses a tampered delta file", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 1);
    const key = `${checkpointTypePrefix(30, "DELTA")}delta_sparse.bin.zst`;
    const bytes = await env.store.get(key);
    bytes[bytes.length - 1] ^= 0xff;
    await env.store.put(key, bytes);
    await rejects(
      reconstructCheckpoint(env.store, 30, { cacheRoot: env.cacheRoot }),
      hasCode("hash_mismatch"),
    );
  });
});

Deno.test("reconstructCheckpoint() refuses a delta whose result misses weights_hash", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 1);
    // Publish checkpoint 30 again against a wrong base: files and manifest are consistent, the
    // rebuilt weights are not the ones hashed.
    await publishDeltaCheckpoint(env.store, {
      window: 30,
      prevWindow: 0,
      anchorWindow: 0,
      current: weightsAt(2),
      base: weightsAt(1),
      fields: FIELDS,
    });
    await rejects(
      reconstructCheckpoint(env.store, 30, { cacheRoot: env.cacheRoot }),
      hasCode("weights_hash_mismatch"),
    );
  });
});

Deno.test("reconstructCheckpoint() reports a chain whose base is gone", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 1);
    for (const o of await env.store.list("grail/checkpoints/checkpoint-0/")) {
      await env.store.delete(o.key);
    }
    await rejects(
      reconstructCheckpoint(env.store, 30, { cacheRoot: env.cacheRoot }),
      hasCode("chain_broken"),
    );
  });
});

Deno.test("verifiedCachedCheckpoint() rejects a cached folder edited after download", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 0);
    const dir = join(env.cacheRoot, "checkpoint-0");
    await downloadFullCheckpoint(env.store, 0, dir);
    ok((await verifiedCachedCheckpoint(env.cacheRoot, 0)) !== null);
    await Deno.writeTextFile(join(dir, "config.json"), "{}");
    strictEqual(await verifiedCachedCheckpoint(env.cacheRoot, 0), null);
  });
});

Deno.test("cleanupRemoteCheckpoints() deletes windows outside the retention policy", async () => {
  await withEnv(async (env) => {
    // FULL checkpoints at 0, 300, 600, 900, 1200 and a delta at 1230 chained to 1200.
    for (const w of [0, 300, 600, 900, 1200]) {
      await publishFullCheckpoint(env.store, {
        window: w,
        dir: env.fullDir,
        fields: FIELDS,
        computeHash: false,
      });
      await markCheckpointReady(env.store, w, w);
    }
    await publishDeltaCheckpoint(env.store, {
      window: 1230,
      prevWindow: 1200,
      anchorWindow: 1200,
      current: weightsAt(1),
      base: weightsAt(0),
      fields: FIELDS,
    });
    // current 1230: keep 0 (bootstrap), 900..1230 (previous anchor on), newest 3 FULL (1200,
    // 900, 600); delete 300.
    deepStrictEqual(await cleanupRemoteCheckpoints(env.store), [300]);
    deepStrictEqual(await env.store.list("grail/checkpoints/checkpoint-300/"), []);
    ok((await env.store.list("grail/checkpoints/checkpoint-600/")).length > 0);
  });
});

Deno.test("publishFullCheckpoint() signs the canonical metadata into manifest.sig", async () => {
  await withEnv(async (env) => {
    const messages: string[] = [];
    const meta = await publishFullCheckpoint(env.store, {
      window: 0,
      dir: env.fullDir,
      fields: FIELDS,
      sign: (m) => {
        messages.push(new TextDecoder().decode(m));
        return "ab".repeat(64);
      },
    });
    deepStrictEqual(messages, [canonicalMetadataJson(meta)]);
    const sig = await env.store.get(`${checkpointTypePrefix(0, "FULL")}manifest.sig`);
    strictEqual(new TextDecoder().decode(sig), "ab".repeat(64));
    strictEqual(meta.config_hash, computeConfigHash(FIELDS.trainingConfig));
  });
});

Deno.test("applyDeltaInMemory() advances loaded weights by one delta", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 2);
    const next = await applyDeltaInMemory(env.store, 60, { window: 30, weights: weightsAt(1) });
    deepStrictEqual(next?.weights, weightsAt(2));
  });
});

Deno.test("applyDeltaInMemory() declines a delta against another window", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 2);
    strictEqual(
      await applyDeltaInMemory(env.store, 60, { window: 0, weights: weightsAt(0) }),
      null,
    );
  });
});

Deno.test("applyDeltaInMemory() refuses weights that miss the published hash", async () => {
  await withEnv(async (env) => {
    await publishChain(env, 2);
    await rejects(
      applyDeltaInMemory(env.store, 60, { window: 30, weights: weightsAt(0) }),
      hasCode("weights_hash_mismatch"),
    );
  });
});

Deno.test("pruneCheckpointCache() removes windows outside the policy and stale partials", async () => {
  await withEnv(async (env) => {
    for (const name of ["checkpoint-0", "checkpoint-330", "checkpoint-600", "checkpoint-960"]) {
      await Deno.mkdir(join(env.cacheRoot, name), { recursive: true });
    }
    await Deno.mkdir(join(env.cacheRoot, "checkpoint-990.abc.partial"));
    const now = (await Deno.stat(join(env.cacheRoot, "checkpoint-990.abc.partial"))).mtime!
      .getTime();
    // current 960: keep 0..270 and 600..960.
    deepStrictEqual(await pruneCheckpointCache(env.cacheRoot, 960, { now }), ["checkpoint-330"]);
    deepStrictEqual(
      await pruneCheckpointCache(env.cacheRoot, 960, { now: now + 3_600_001 }),
      ["checkpoint-990.abc.partial"],
    );
  });
});

Deno.test("computeFolderWeightsHash() equals the hash of the loaded weights", async () => {
  await withEnv(async (env) => {
    strictEqual(
      await computeFolderWeightsHash(env.fullDir),
      await computeWeightsHash(await loadStateDict(env.fullDir)),
    );
  });
});
