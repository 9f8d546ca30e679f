"""Independent reference for tokenizer tests: byte-level BPE and chat templates in Python.

Written from the published algorithms, sharing no code with the JS libraries under test:
- ids: added tokens are matched first (leftmost, longest), the rest is NFC-normalised, split by
  the tokenizer.json Split regex (the `regex` module, whose \\p classes follow Unicode like the
  Rust tokenizers' Oniguruma), mapped through GPT-2's bytes-to-unicode table and merged pair by
  pair in merge-rank order (lowest rank first, leftmost on ties).
- chat: the real Jinja2, configured as transformers' apply_chat_template configures it
  (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, tojson with
  ensure_ascii=False, raise_exception), with special tokens and kwargs as template variables.

Only the byte-level BPE features that Qwen/Llama-3 tokenizer.json files use are implemented;
anything else raises. Usage: python3 _reference_tokenizer.py MODEL_DIR < request.json, where
request = {"texts": [...], "chats": [{"messages": [...], "add_generation_prompt": bool,
"kwargs": {...}}]}; prints {"ids": [[...]], "rendered": [...]}.
"""

import json
import sys
import unicodedata

import regex


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


class Bpe:
    def __init__(self, tok):
        model = tok["model"]
        if model["type"] != "BPE" or model.get("ignore_merges"):
            raise ValueError("only BPE without ignore_merges is implemented")
        self.vocab = model["vocab"]
        self.ranks = {}
        for i, m in enumerate(model["merges"]):
            pair = tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1))
            self.ranks[pair] = i
        self.added = sorted(tok["added_tokens"], key=lambda a: -len(a["content"]))
        norm = tok.get("normalizer")
        if norm is not None and norm["type"] != "NFC":
            raise ValueError(f"normalizer {norm['type']} not implemented")
        self.nfc = norm is not None
        pre = tok["pre_tokenizer"]
        if pre["type"] != "Sequence":
            raise ValueError("expected a Sequence pre-tokenizer")
        split, level = pre["pretokenizers"]
        if split["type"] != "Split" or split["behavior"] != "Isolated" or split["invert"]:
            raise ValueError("expected an isolated Split")
        if level["type"] != "ByteLevel" or level["use_regex"] or level["add_prefix_space"]:
            raise ValueError("expected ByteLevel without its own regex")
        self.pattern = regex.compile(split["pattern"]["Regex"])
        self.byte_map = bytes_to_unicode()
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best = None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            pair = (parts[best[1]], parts[best[1] + 1])
            merged = []
            i = 0
            while i < len(parts):
                if i < len(parts) - 1 and (parts[i], parts[i + 1]) == pair:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids

    def encode_plain(self, text):
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        ids = []
        for piece in self.pattern.findall(text):
            mapped = "".join(self.byte_map[b] for b in piece.encode("utf-8"))
            ids.extend(self.bpe(mapped))
        return ids

    def encode(self, text):
        ids = []
        start = 0
        i = 0
        while i < len(text):
            hit = next((a for a in self.added if text.startswith(a["content"], i)), None)
            if hit is None:
                i += 1
                continue
            ids.extend(self.encode_plain(text[start:i]))
            ids.append(hit["id"])
            i += len(hit["content"])
            start = i
        ids.extend(self.encode_plain(text[start:]))
        return ids


def render_chat(config, chat):
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise ValueError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(chat.get("chat_template") or config["chat_template"])
    variables = {}
    for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
        value = config.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        if value is not None:
            variables[key] = value
    variables["additional_special_tokens"] = config.get("additional_special_tokens", [])
    variables.update(chat.get("kwargs", {}))
    return template.render(
        messages=chat["messages"],
        add_generation_prompt=chat.get("add_generation_prompt", True),
        **variables,
    )


def main():
    model_dir = sys.argv[1]
    with open(f"{model_dir}/tokenizer.json", encoding="utf-8") as f:
        tok = json.load(f)
    with open(f"{model_dir}/tokenizer_config.json", encoding="utf-8") as f:
        config = json.load(f)
    request = json.load(sys.stdin)
    bpe = Bpe(tok)
    out = {
        "ids": [bpe.encode(t) for t in request.get("texts", [])],
        "rendered": [render_chat(config, c) for c in request.get("chats", [])],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
