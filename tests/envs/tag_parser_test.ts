import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  codePointLength,
  parseTags,
  PY_WHITESPACE_CLASS,
  pyIgnoreCaseSource,
} from "../../src/envs/tag_parser.ts";
import { INSTRUCTED_THINKING, NATIVE_THINKING } from "../../src/envs/thinking.ts";

// Expected behaviour is CPython 3.11.7 `re` (each case notes the Python expression).

Deno.test("pyIgnoreCaseSource() matches dotted and dotless i like CPython's re.I", () => {
  // re.fullmatch("i", "\u0130", re.I) and ("i", "\u0131", re.I) both match in CPython.
  const re = new RegExp(`^${pyIgnoreCaseSource("i")}$`, "u");
  strictEqual(re.test("\u0130"), true);
  strictEqual(re.test("\u0131"), true);
  strictEqual(re.test("I"), true);
});

Deno.test("pyIgnoreCaseSource() matches the Kelvin sign and long s", () => {
  const re = new RegExp(`^${pyIgnoreCaseSource("ks")}$`, "u");
  strictEqual(re.test("\u212a\u017f"), true);
});

Deno.test("pyIgnoreCaseSource() does not match unrelated letters", () => {
  const re = new RegExp(`^${pyIgnoreCaseSource("<SOLUTION>")}$`, "u");
  strictEqual(re.test("<S0LUTION>"), false);
});

Deno.test("pyIgnoreCaseSource() refuses a non-ASCII tag", () => {
  throws(() => pyIgnoreCaseSource("<é>"), RangeError);
});

Deno.test("PY_WHITESPACE_CLASS matches str.isspace characters and not U+FEFF", () => {
  const re = new RegExp(`^[${PY_WHITESPACE_CLASS}]$`, "u");
  for (const ch of ["\x1c", "\x1f", "\x85", "\u3000", "\u2028", " "]) {
    strictEqual(re.test(ch), true);
  }
  strictEqual(re.test("\ufeff"), false);
  strictEqual(re.test("\u200b"), false);
});

Deno.test("codePointLength() counts an astral character once", () => {
  strictEqual(codePointLength("\u{1F600}\u{1F600}x"), 3);
});

Deno.test("codePointLength() of the empty string is 0", () => {
  strictEqual(codePointLength(""), 0);
});

Deno.test("parseTags() finds no answer in an empty completion", () => {
  deepStrictEqual(parseTags("", INSTRUCTED_THINKING), {
    hasThinking: false,
    hasAnswer: false,
    answerText: "",
    trailing: 0,
    properOrdering: false,
    answerOpenCount: 0,
    answerCloseCount: 0,
  });
});

Deno.test("parseTags() prefers the answer after the thinking block", () => {
  const p = parseTags(
    "<SOLUTION>a</SOLUTION></end_working_out><SOLUTION>b</SOLUTION>!",
    INSTRUCTED_THINKING,
  );
  strictEqual(p.answerText, "b");
  strictEqual(p.properOrdering, true);
  strictEqual(p.trailing, 1);
  strictEqual(p.answerOpenCount, 2);
});

Deno.test("parseTags() falls back to the first plain answer when thinking comes after it", () => {
  const p = parseTags("<SOLUTION>a</SOLUTION></end_working_out>", INSTRUCTED_THINKING);
  strictEqual(p.answerText, "a");
  strictEqual(p.properOrdering, false);
  strictEqual(p.trailing, "</end_working_out>".length);
});

Deno.test("parseTags() uses the native close tag in native mode", () => {
  strictEqual(parseTags("x</think>", NATIVE_THINKING).hasThinking, true);
  strictEqual(parseTags("x</think>", INSTRUCTED_THINKING).hasThinking, false);
});

Deno.test("parseTags() counts trailing text in code points", () => {
  strictEqual(parseTags("<SOLUTION>1</SOLUTION>\u{1F600}", INSTRUCTED_THINKING).trailing, 1);
});
