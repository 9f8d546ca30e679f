import { deepStrictEqual, ok as assert, rejects, strictEqual } from "node:assert/strict";
import { expectedTensorShapes, openCheckpoint } from "../../src/model/checkpoint.ts";
import { parseModelConfig } from "../../src/model/config.ts";
import { CheckpointError } from "../../src/model/errors.ts";
import {
  readSafetensorsHeader,
  readTensorBytes,
  type TensorToWrite,
  writeSafetensors,
} from "../../src/model/safetensors.ts";
import { makeTinyModel } from "../../src/model/tiny.ts";
import { SHARED } from "./_golden.ts";

function isCheckpointError(code: string, ...mentions: string[]): (e: unknown) => boolean {
  return (e) =>
    e instanceof CheckpointError && e.code === code && mentions.every((m) => e.message.includes(m));
}

async function withTinyModel(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await makeTinyModel(dir, { architecture: "qwen2", seed: 3, vocabSize: 40, hiddenSize: 16 });
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The tiny model's tensors, read back, optionally transformed before rewriting. */
async function tensorsOf(dir: string): Promise<TensorToWrite[]> {
  const h = await readSafetensorsHeader(`${dir}/model.safetensors`);
  const out: TensorToWrite[] = [];
  for (const e of h.entries) {
    out.push({ name: e.name, dtype: e.dtype, shape: e.shape, data: await readTensorBytes(e) });
  }
  return out;
}

Deno.test("openCheckpoint() opens the tied qwen3-tiny fixture without an lm_head", async () => {
  const ckpt = await openCheckpoint(`${SHARED}fixtures/qwen3-tiny`);
  strictEqual(ckpt.tensors.has("lm_head.weight"), false);
  strictEqual(ckpt.tensors.get("model.layers.2.self_attn.q_norm.weight")?.dtype, "BF16");
  strictEqual((await ckpt.readRaw("model.norm.weight")).length, 128 * 2);
  strictEqual((await ckpt.readF32("model.embed_tokens.weight")).length, 2048 * 128);
  ckpt.close();
});

Deno.test("openCheckpoint() opens the untied qwen2-tiny fixture with its q/k/v biases", async () => {
  const ckpt = await openCheckpoint(`${SHARED}fixtures/qwen2-tiny`);
  deepStrictEqual(ckpt.tensors.get("lm_head.weight")?.shape, [2048, 128]);
  deepStrictEqual(ckpt.tensors.get("model.layers.1.self_attn.k_proj.bias")?.shape, [64]);
  ckpt.close();
});

Deno.test("openCheckpoint() reads shards through model.safetensors.index.json", async () => {
  await withTinyModel(async (dir) => {
    const single = await openCheckpoint(dir);
    const expected = new Map<string, Float32Array>();
    for (const name of single.tensors.keys()) expected.set(name, await single.readF32(name));
    const tensors = await tensorsOf(dir);
    const half = Math.ceil(tensors.length / 2);
    const shards = [tensors.slice(0, half), tensors.slice(half)];
    const names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    const weightMap: Record<string, string> = {};
    for (let s = 0; s < 2; s++) {
      await writeSafetensors(`${dir}/${names[s]}`, shards[s]);
      for (const t of shards[s]) weightMap[t.name] = names[s];
    }
    await Deno.writeTextFile(
      `${dir}/model.safetensors.index.json`,
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    await Deno.remove(`${dir}/model.safetensors`);
    const sharded = await openCheckpoint(dir);
    strictEqual(sharded.tensors.size, expected.size);
    for (const [name, values] of expected) {
      strictEqual(sharded.tensors.get(name)?.file, `${dir}/${weightMap[name]}`);
      deepStrictEqual(await sharded.readF32(name), values);
    }
  });
});

Deno.test("openCheckpoint() names a missing tensor and the shape it needs", async () => {
  await withTinyModel(async (dir) => {
    const tensors = (await tensorsOf(dir)).filter((t) =>
      t.name !== "model.layers.1.mlp.up_proj.weight"
    );
    await writeSafetensors(`${dir}/model.safetensors`, tensors);
    await rejects(
      () => openCheckpoint(dir),
      isCheckpointError("missing_tensor", "model.layers.1.mlp.up_proj.weight", "[48,16]"),
    );
  });
});

Deno.test("openCheckpoint() names a mis-shaped tensor with found and expected shapes", async () => {
  await withTinyModel(async (dir) => {
    const tensors = (await tensorsOf(dir)).map((t) =>
      t.name === "model.norm.weight" ? { ...t, shape: [8, 2] } : t
    );
    await writeSafetensors(`${dir}/model.safetensors`, tensors);
    await rejects(
      () => openCheckpoint(dir),
      isCheckpointError("bad_shape", "model.norm.weight", "[8,2]", "[16]"),
    );
  });
});

Deno.test("openCheckpoint() rejects a needed tensor of a non-float dtype", async () => {
  await withTinyModel(async (dir) => {
    const tensors = (await tensorsOf(dir)).map((t) =>
      t.name === "model.norm.weight" ? { ...t, dtype: "I16" as const } : t
    );
    await writeSafetensors(`${dir}/model.safetensors`, tensors);
    await rejects(
      () => openCheckpoint(dir),
      isCheckpointError("unknown_dtype", "model.norm.weight", "I16"),
    );
  });
});

Deno.test("openCheckpoint() lists what the folder holds when there are no weights", async () => {
  await withTinyModel(async (dir) => {
    await Deno.remove(`${dir}/model.safetensors`);
    await rejects(
      () => openCheckpoint(dir),
      isCheckpointError("not_found", "model.safetensors", "config.json"),
    );
  });
});

Deno.test("openCheckpoint() rejects an index naming a tensor its shard lacks", async () => {
  await withTinyModel(async (dir) => {
    const tensors = await tensorsOf(dir);
    await writeSafetensors(`${dir}/shard.safetensors`, tensors);
    const weightMap = Object.fromEntries(tensors.map((t) => [t.name, "shard.safetensors"]));
    weightMap["model.extra.weight"] = "shard.safetensors";
    await Deno.writeTextFile(
      `${dir}/model.safetensors.index.json`,
      JSON.stringify({ weight_map: weightMap }),
    );
    await Deno.remove(`${dir}/model.safetensors`);
    await rejects(
      () => openCheckpoint(dir),
      isCheckpointError("missing_tensor", "model.extra.weight"),
    );
  });
});

Deno.test("Checkpoint.close() refuses later reads", async () => {
  await withTinyModel(async (dir) => {
    const ckpt = await openCheckpoint(dir);
    ckpt.close();
    await rejects(() => ckpt.readF32("model.norm.weight"), isCheckpointError("io", "closed"));
  });
});

Deno.test("expectedTensorShapes() lists every HF tensor of a layer with [out, in] shapes", () => {
  const c = parseModelConfig({
    model_type: "llama",
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    vocab_size: 10,
    attention_bias: true,
  }, "c.json");
  const shapes = expectedTensorShapes(c);
  deepStrictEqual(shapes.get("model.layers.0.self_attn.o_proj.bias"), [8]);
  deepStrictEqual(shapes.get("model.layers.0.mlp.down_proj.weight"), [8, 12]);
  deepStrictEqual(shapes.get("lm_head.weight"), [10, 8]);
  assert(!shapes.has("model.layers.0.self_attn.q_norm.weight"));
  // embed; per layer 2 norms + 4 projections + 4 biases (q/k/v/o) + 3 MLP; final norm; lm_head
  strictEqual(shapes.size, 1 + 13 + 1 + 1);
});
