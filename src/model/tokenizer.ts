/**
 * Tokenizer and chat template from a local Hugging Face model folder (`tokenizer.json`,
 * `tokenizer_config.json`), with Hugging Face's own JS libraries: `@huggingface/tokenizers` for
 * the ids and `@huggingface/jinja` for the chat template. Chosen by measurement over
 * `@huggingface/transformers` (which wraps the same tokenizer code): identical ids on 1,692
 * dataset texts (173,824 tokens), 1.2 MB installed instead of 474 MB, and about half the load
 * time (docs/benchmarks.md).
 *
 * Rendering follows transformers' `apply_chat_template`: the template sees `messages`,
 * `add_generation_prompt`, the special tokens (`bos_token`, `eos_token`, ...) and any extra
 * variables such as `enable_thinking`; blocks are trimmed as HF's Jinja environment does
 * (`trim_blocks`, `lstrip_blocks`). Encoding a rendered chat adds no special tokens, as
 * `apply_chat_template(tokenize=True)` does.
 *
 * @module
 */

import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";
import { join } from "node:path";
import { CheckpointError } from "./errors.ts";
import { readCheckpointJson } from "./_read_json.ts";

/** One chat message; extra fields (tool_calls, reasoning_content) pass through to the template. */
export interface ChatMessage {
  /** "system", "user", "assistant" or "tool". */
  role: string;
  /** The text. */
  content: string;
  /** Anything else the template reads. */
  [key: string]: unknown;
}

/** Options of {@link ModelTokenizer.applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** Append the assistant turn opener (default true, as a prompt for generation needs). */
  addGenerationPrompt?: boolean;
  /**
   * Passed to the template as `enable_thinking` when set. The reference's "native" mode passes
   * true; Qwen3's template inserts an empty think block only when it is false (envs spec §2.2).
   */
  enableThinking?: boolean;
  /** A template to use instead of the tokenizer's (e.g. {@link CHATML_TEMPLATE}). */
  chatTemplate?: string;
  /** Further template variables (e.g. `tools`). */
  variables?: Record<string, unknown>;
}

/**
 * Plain ChatML, the template the reference installs in "instructed" thinking mode (envs spec
 * §2.2): each message as `<|im_start|>{role}\n{content}<|im_end|>\n`, and the generation prompt
 * `<|im_start|>assistant\n`.
 */
export const CHATML_TEMPLATE: string =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The special tokens a chat template may read, by tokenizer_config.json key. */
export type SpecialTokenKey = "bos_token" | "eos_token" | "unk_token" | "pad_token";

const SPECIAL_TOKEN_KEYS: readonly SpecialTokenKey[] = [
  "bos_token",
  "eos_token",
  "unk_token",
  "pad_token",
];

function tokenText(value: unknown, key: string, source: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  if (
    typeof value === "object" && typeof (value as { content?: unknown }).content === "string"
  ) {
    return (value as { content: string }).content;
  }
  throw new CheckpointError(
    "bad_config",
    `Invalid ${key} in ${source}: got ${JSON.stringify(value)?.slice(0, 80)}, expected a ` +
      `token string or {"content": string}`,
  );
}

/** A chat_template value: a string, or a list of {name, template} of which "default" is used. */
function configTemplate(value: unknown, source: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const entry = value.find((t) => t?.name === "default");
    if (typeof entry?.template === "string") return entry.template;
  }
  throw new CheckpointError(
    "bad_config",
    `Invalid chat_template in ${source}: expected a string or a list holding {name: "default", template}`,
  );
}

/** A model's tokenizer and chat template. */
export class ModelTokenizer {
  #tokenizer: Tokenizer;
  #config: Record<string, unknown>;
  #templates = new Map<string, Template>();
  /** Token strings of the special tokens named in tokenizer_config.json (null when unset). */
  readonly specialTokens: Readonly<Record<SpecialTokenKey, string | null>>;
  /** Id of `eos_token`, or null. */
  readonly eosTokenId: number | null;
  /** Id of `pad_token`, or null. */
  readonly padTokenId: number | null;
  /** Id of `bos_token`, or null. */
  readonly bosTokenId: number | null;
  /**
   * The tokenizer's own chat template (the "default" one when tokenizer_config.json lists
   * several), or null.
   */
  readonly chatTemplate: string | null;

  /**
   * Builds the tokenizer from parsed files (see {@link ModelTokenizer.load} for a folder).
   *
   * @param tokenizerJson Parsed tokenizer.json.
   * @param tokenizerConfig Parsed tokenizer_config.json.
   * @param source Where they came from, named in errors.
   * @param chatTemplate A template that replaces tokenizer_config.json's (from chat_template.jinja).
   * @throws {CheckpointError} `bad_config` if the tokenizer cannot be built or a special token
   *   is not in the vocabulary.
   */
  constructor(
    tokenizerJson: unknown,
    tokenizerConfig: unknown,
    source = "tokenizer files",
    chatTemplate?: string,
  ) {
    if (
      typeof tokenizerConfig !== "object" || tokenizerConfig === null ||
      Array.isArray(tokenizerConfig)
    ) {
      throw new CheckpointError(
        "bad_config",
        `Invalid tokenizer_config.json in ${source}: expected a JSON object`,
      );
    }
    const extraSpecials = (tokenizerConfig as Record<string, unknown>).additional_special_tokens;
    if (extraSpecials !== undefined && extraSpecials !== null && !Array.isArray(extraSpecials)) {
      throw new CheckpointError(
        "bad_config",
        `Invalid additional_special_tokens in ${source}: got ` +
          `${JSON.stringify(extraSpecials)?.slice(0, 80)}, expected a list of tokens`,
      );
    }
    this.#config = tokenizerConfig as Record<string, unknown>;
    try {
      this.#tokenizer = new Tokenizer(tokenizerJson as object, tokenizerConfig as object);
    } catch (cause) {
      throw new CheckpointError(
        "bad_config",
        `Cannot build the tokenizer from ${source}: ${(cause as Error).message}`,
        { cause },
      );
    }
    const specials = {} as Record<SpecialTokenKey, string | null>;
    for (const key of SPECIAL_TOKEN_KEYS) specials[key] = tokenText(this.#config[key], key, source);
    this.specialTokens = specials;
    const idOf = (key: SpecialTokenKey) => {
      const text = specials[key];
      if (text === null) return null;
      const id = this.#tokenizer.token_to_id(text);
      if (id === undefined) {
        throw new CheckpointError(
          "bad_config",
          `Invalid ${key} in ${source}: ${JSON.stringify(text)} is not in the vocabulary`,
        );
      }
      return id;
    };
    this.eosTokenId = idOf("eos_token");
    this.padTokenId = idOf("pad_token");
    this.bosTokenId = idOf("bos_token");
    this.chatTemplate = chatTemplate ?? configTemplate(this.#config.chat_template, source);
  }

  /**
   * Loads `tokenizer.json` and `tokenizer_config.json` from a model folder. The chat template is
   * taken, as transformers takes it, from `chat_template.jinja` when present (transformers ≥ 4.47
   * saves it there), else from tokenizer_config.json, else from a legacy `chat_template.json`.
   *
   * @param dir The folder.
   * @returns The tokenizer.
   * @throws {CheckpointError} `not_found` naming the missing file, `bad_config` for invalid JSON.
   *
   * @example
   * ```ts
   * import { ModelTokenizer } from "./tokenizer.ts";
   * const dir = await Deno.makeTempDir();
   * await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify({
   *   model: { type: "BPE", vocab: { a: 0, b: 1, ab: 2 }, merges: ["a b"] },
   *   normalizer: null, pre_tokenizer: null, post_processor: null, decoder: { type: "Fuse" },
   *   added_tokens: [{ id: 3, content: "<end>", special: true }],
   * }));
   * await Deno.writeTextFile(`${dir}/tokenizer_config.json`, '{"eos_token": "<end>"}');
   * const tok = await ModelTokenizer.load(dir);
   * await Deno.remove(dir, { recursive: true });
   * if (tok.encode("abb<end>").join() !== "2,1,3" || tok.eosTokenId !== 3) throw new Error();
   * ```
   */
  static async load(dir: string): Promise<ModelTokenizer> {
    const read = (name: string) =>
      readCheckpointJson(dir, name, {
        action: "Cannot load the tokenizer",
        fix: "copy the model's tokenizer files into the folder",
      }) as Promise<Record<string, unknown> | null>;
    const optional = async (name: string): Promise<string | undefined> => {
      try {
        return await Deno.readTextFile(join(dir, name));
      } catch (cause) {
        if (cause instanceof Deno.errors.NotFound) return undefined;
        throw new CheckpointError(
          "io",
          `Cannot read ${join(dir, name)}: ${(cause as Error).message}`,
          {
            cause,
          },
        );
      }
    };
    const config = await read("tokenizer_config.json");
    let template = await optional("chat_template.jinja");
    if (template === undefined && config?.chat_template === undefined) {
      const legacy = await optional("chat_template.json");
      if (legacy !== undefined) {
        const parsed = (() => {
          try {
            return JSON.parse(legacy);
          } catch (cause) {
            throw new CheckpointError(
              "bad_config",
              `Invalid JSON in ${join(dir, "chat_template.json")}: ${(cause as Error).message}`,
              { cause },
            );
          }
        })();
        template = configTemplate(parsed?.chat_template, join(dir, "chat_template.json")) ??
          undefined;
      }
    }
    return new ModelTokenizer(await read("tokenizer.json"), config, dir, template);
  }

  /**
   * Number of ids the tokenizer can produce or decode (vocabulary and added tokens: the largest
   * id + 1). Qwen3: 151,669, below the model's 151,936 embedding rows.
   *
   * @returns The count.
   */
  get vocabSize(): number {
    let max = -1;
    for (const id of this.#tokenizer.get_vocab(true).values()) if (id > max) max = id;
    return max + 1;
  }

  /**
   * Text to ids.
   *
   * @param text The text; special tokens written in it (e.g. `<|im_end|>`) become their ids.
   * @param options `addSpecialTokens` applies the tokenizer's post-processor (default false,
   *   as for rendered chats).
   * @returns The ids.
   */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.#tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? false })
      .ids;
  }

  /**
   * Ids to text.
   *
   * @param ids The ids.
   * @param options `skipSpecialTokens` (default false: the reference decodes completions with
   *   special tokens kept, envs spec §2.3).
   * @returns The text.
   * @throws {RangeError} For an id outside the vocabulary.
   */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    for (let i = 0; i < ids.length; i++) {
      if (this.#tokenizer.id_to_token(ids[i]) === undefined) {
        throw new RangeError(`Invalid token id at ids[${i}]: got ${ids[i]}, not in the vocabulary`);
      }
    }
    return this.#tokenizer.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  /**
   * The id of a token string.
   *
   * @param token Token text, e.g. `"<|im_end|>"`.
   * @returns Its id, or undefined when absent.
   */
  tokenToId(token: string): number | undefined {
    return this.#tokenizer.token_to_id(token);
  }

  /**
   * The token string of an id.
   *
   * @param id Token id.
   * @returns Its text, or undefined when absent.
   */
  idToToken(id: number): string | undefined {
    return this.#tokenizer.id_to_token(id);
  }

  /**
   * Renders a chat with the tokenizer's template (or the one given).
   *
   * @param messages The conversation.
   * @param options Generation prompt, thinking flag, template override, extra variables.
   * @returns The prompt text.
   * @throws {CheckpointError} `bad_config` when there is no template or it fails to parse.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    const source = options.chatTemplate ?? this.chatTemplate;
    if (source === null) {
      throw new CheckpointError(
        "bad_config",
        "Cannot render the chat: tokenizer_config.json has no chat_template; pass options.chatTemplate",
      );
    }
    let template = this.#templates.get(source);
    if (template === undefined) {
      try {
        template = new Template(source);
      } catch (cause) {
        throw new CheckpointError(
          "bad_config",
          `Invalid chat template: ${(cause as Error).message}`,
          { cause },
        );
      }
      this.#templates.set(source, template);
    }
    const variables: Record<string, unknown> = {
      // HF passes special_tokens_map, which leaves out unset tokens (so `is defined` is false).
      ...Object.fromEntries(Object.entries(this.specialTokens).filter(([, v]) => v !== null)),
      additional_special_tokens: this.#config.additional_special_tokens ?? [],
      ...options.variables,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? true,
    };
    if (options.enableThinking !== undefined) variables.enable_thinking = options.enableThinking;
    return template.render(variables);
  }

  /**
   * Renders a chat and encodes it (no special tokens added beyond the template's).
   *
   * @param messages The conversation.
   * @param options As {@link applyChatTemplate}.
   * @returns The prompt ids.
   * @throws {CheckpointError} As {@link applyChatTemplate}.
   */
  encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, options));
  }
}
