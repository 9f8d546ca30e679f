/**
 * Thinking and answer tag parsing shared by every environment (envs spec §1.2), with Python
 * `re` semantics reproduced where JavaScript differs:
 * - IGNORECASE: CPython also matches `i` to U+0130/U+0131, `k` to U+212A and `s` to U+017F;
 *   JavaScript's `iu` flags miss the first two, so tag patterns use explicit character classes
 *   (the equivalence sets were enumerated from CPython 3.11 `re` over all code points).
 * - `\s` is `str.isspace` (includes U+001C–U+001F and U+0085, excludes U+FEFF).
 * - Lengths and offsets are in code points, not UTF-16 units.
 *
 * @module
 */

import type { ThinkingConfig } from "./thinking.ts";

/** Characters CPython's `re` `\s` matches in a `str` pattern (`str.isspace`), as a class body. */
export const PY_WHITESPACE_CLASS: string =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

// Extra code points CPython's IGNORECASE matches to an ASCII letter (beyond its two cases).
const PY_IGNORECASE_EXTRA: Readonly<Record<string, string>> = {
  i: "\\u0130\\u0131",
  k: "\\u212a",
  s: "\\u017f",
};

/**
 * Regular-expression source matching `literal` as CPython's `re.IGNORECASE` would (for the
 * ASCII tags grail uses). Use with the `u` flag and without `i`.
 *
 * @param literal The tag text (ASCII).
 * @returns Regex source.
 * @throws {RangeError} If `literal` has non-ASCII characters.
 *
 * @example
 * ```ts
 * import { pyIgnoreCaseSource } from "./tag_parser.ts";
 * const re = new RegExp(pyIgnoreCaseSource("<SOLUTION>"), "u");
 * if (!re.test("<\u017Folut\u0131on>")) throw new Error("CPython matches this");
 * ```
 */
export function pyIgnoreCaseSource(literal: string): string {
  let out = "";
  for (const ch of literal) {
    if (ch.charCodeAt(0) > 0x7f) {
      throw new RangeError(
        `Tag must be ASCII, got ${JSON.stringify(literal.slice(0, 40))}; pass an ASCII tag`,
      );
    }
    const lower = ch.toLowerCase();
    if (lower >= "a" && lower <= "z") {
      out += `[${lower.toUpperCase()}${lower}${PY_IGNORECASE_EXTRA[lower] ?? ""}]`;
    } else {
      out += ch.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
    }
  }
  return out;
}

/**
 * Number of Unicode code points in `text` (Python's `len` of a `str`).
 *
 * @param text Any string.
 * @returns Its length in code points (a lone surrogate counts as one).
 *
 * @example
 * ```ts
 * import { codePointLength } from "./tag_parser.ts";
 * if (codePointLength("a\u{1F600}") !== 2) throw new Error();
 * ```
 */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** The tag structure of a completion, as the reference's ThinkingParser sees it. */
export interface TagParse {
  /** The closing thinking tag occurs anywhere (case-insensitive substring after `lower()`). */
  hasThinking: boolean;
  /** A `<SOLUTION>` … `</SOLUTION>` pair exists. */
  hasAnswer: boolean;
  /** Raw (un-stripped) answer content; `""` without an answer. */
  answerText: string;
  /** Code points after the chosen pair's `</SOLUTION>`; 0 without an answer. */
  trailing: number;
  /** The answer came from the thinking-then-answer match. */
  properOrdering: boolean;
  /** Case-insensitive occurrences of `<SOLUTION>` in the whole text. */
  answerOpenCount: number;
  /** Case-insensitive occurrences of `</SOLUTION>` in the whole text. */
  answerCloseCount: number;
}

interface _Patterns {
  answer: RegExp;
  thinkThenAnswer: RegExp;
  open: RegExp;
  close: RegExp;
}

const patternCache = new Map<ThinkingConfig, _Patterns>();

function patternsFor(config: ThinkingConfig): _Patterns {
  let p = patternCache.get(config);
  if (p) return p;
  const to = pyIgnoreCaseSource(config.thinkingOpen);
  const tc = pyIgnoreCaseSource(config.thinkingClose);
  const so = pyIgnoreCaseSource(config.solutionOpen);
  const sc = pyIgnoreCaseSource(config.solutionClose);
  p = {
    answer: new RegExp(`${so}(.*?)${sc}`, "su"),
    // Anchored at 0: the leading `.*?` lets a match at 0 cover any later one, so the reference's
    // search() always matches at 0 when it matches at all, and anchoring avoids rescanning
    // from every start position.
    thinkThenAnswer: new RegExp(`^(?:${to})?.*?${tc}.*?${so}(.*?)${sc}`, "su"),
    open: new RegExp(so, "gu"),
    close: new RegExp(sc, "gu"),
  };
  patternCache.set(config, p);
  return p;
}

function countMatches(re: RegExp, text: string): number {
  let n = 0;
  for (const _ of text.matchAll(re)) n++;
  return n;
}

/**
 * Parses the thinking and answer tags of a completion (envs spec §1.2): the answer is taken
 * from the first close-thinking tag followed by a `<SOLUTION>` pair when thinking is present,
 * otherwise from the first plain pair.
 *
 * @param text The decoded completion.
 * @param config The thinking mode's tags.
 * @returns The tag structure.
 *
 * @example Thinking then answer, with the EOS marker left in the text
 * ```ts
 * import { parseTags } from "./tag_parser.ts";
 * import { INSTRUCTED_THINKING } from "./thinking.ts";
 * const p = parseTags("x</end_working_out><SOLUTION>1 0</SOLUTION><|im_end|>", INSTRUCTED_THINKING);
 * if (!p.hasThinking || p.answerText !== "1 0" || p.trailing !== 10) throw new Error();
 * ```
 */
export function parseTags(text: string, config: ThinkingConfig): TagParse {
  const p = patternsFor(config);
  const hasThinking = text.toLowerCase().includes(config.thinkingClose.toLowerCase());
  let m: RegExpExecArray | null = null;
  let properOrdering = false;
  if (hasThinking) {
    m = p.thinkThenAnswer.exec(text);
    properOrdering = m !== null;
  }
  if (m === null) m = p.answer.exec(text);
  const answerOpenCount = countMatches(p.open, text);
  const answerCloseCount = countMatches(p.close, text);
  if (m === null) {
    return {
      hasThinking,
      hasAnswer: false,
      answerText: "",
      trailing: 0,
      properOrdering: false,
      answerOpenCount,
      answerCloseCount,
    };
  }
  return {
    hasThinking,
    hasAnswer: true,
    answerText: m[1],
    trailing: codePointLength(text.slice(m.index + m[0].length)),
    properOrdering,
    answerOpenCount,
    answerCloseCount,
  };
}
