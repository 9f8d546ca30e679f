import { deepStrictEqual, rejects } from "node:assert/strict";
import { cutQwen3Tokenizer, writeDevnetModel } from "../../src/devnet/model.ts";
import { ModelTokenizer } from "../../src/model/tokenizer.ts";
import { loadModelConfig } from "../../src/model/config.ts";

Deno.test("cutQwen3Tokenizer() keeps Qwen3's BPE on the first ids and moves the specials to the end", async () => {
  const files = await cutQwen3Tokenizer(1024);
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const tok = await ModelTokenizer.load(dir);
    const text = "<|im_start|>user\nSolve x ∨ ¬y.<|im_end|>\n";
    const ids = tok.encode(text);
    deepStrictEqual(tok.decode(ids), text); // byte-level BPE round-trips any text
    deepStrictEqual(ids[0], 1022); // <|im_start|>
    deepStrictEqual(Math.max(...ids) < 1024, true);
    deepStrictEqual(tok.eosTokenId, 1023); // <|im_end|>
    // Ids below the cut keep Qwen3's numbering ("!" is Qwen3's id 0).
    const vocab = JSON.parse(files["tokenizer.json"]).model.vocab as Record<string, number>;
    deepStrictEqual(vocab["!"], 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cutQwen3Tokenizer() refuses a vocabulary without room for bytes and specials", async () => {
  await rejects(() => cutQwen3Tokenizer(100), /Invalid cut vocabulary size 100/);
});

Deno.test("writeDevnetModel() writes a Qwen3 checkpoint whose ids match its tokenizer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeDevnetModel(dir, { seed: 1, cutVocabSize: 512, hiddenSize: 32, numLayers: 1 });
    const config = await loadModelConfig(dir);
    const tok = await ModelTokenizer.load(dir);
    deepStrictEqual(
      [config.architecture, config.vocabSize, config.eosTokenIds, config.qkNorm],
      ["qwen3", 512, [tok.eosTokenId], true],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
