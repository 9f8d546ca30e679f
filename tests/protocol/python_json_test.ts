// Golden values: strings printed by CPython 3.11.7 `json.dumps` (command quoted beside each).
// Exact: byte-identical text.
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  canonicalJson,
  PythonFloat,
  pythonFloatRepr,
  pythonJsonDumps,
  pythonJsonLoads,
  pythonJsonString,
  type PythonJsonValue,
  sortCodePoints,
} from "../../src/protocol/python_json.ts";

Deno.test("pythonFloatRepr() formats like Python repr, including exponent switches", () => {
  // json.dumps([1e16, 1e15, 1e-5, 1e-4, 0.1, -0.0, 1.5e300, 123456789012345678.0, 2.5e-7])
  const cases: [number, string][] = [
    [1e16, "1e+16"],
    [1e15, "1000000000000000.0"],
    [1e-5, "1e-05"],
    [1e-4, "0.0001"],
    [0.1, "0.1"],
    [-0, "-0.0"],
    [1.5e300, "1.5e+300"],
    [123456789012345678, "1.2345678901234568e+17"],
    [2.5e-7, "2.5e-07"],
    [-6.56803560256958, "-6.56803560256958"],
  ];
  for (const [x, text] of cases) strictEqual(pythonFloatRepr(x), text);
});

Deno.test("pythonJsonDumps() writes Infinity and NaN as Python does", () => {
  strictEqual(pythonJsonDumps([Infinity, -Infinity, NaN]), "[Infinity, -Infinity, NaN]");
});

Deno.test("pythonJsonDumps() escapes non-ASCII and control characters as ensure_ascii", () => {
  // json.dumps('é\u2028\x7f\x01😀"\\\n')
  strictEqual(
    pythonJsonDumps('é\u2028\x7f\x01😀"\\\n'),
    '"\\u00e9\\u2028\\u007f\\u0001\\ud83d\\ude00\\"\\\\\\n"',
  );
});

Deno.test("canonicalJson() sorts keys by code point and drops spaces", () => {
  // json.dumps({"b": 1, "a": {"z": True, "\uff5e": None, "😀": 0.5}}, sort_keys=True, separators=(",", ":"))
  strictEqual(
    canonicalJson({ b: 1, a: { z: true, "\uff5e": null, "😀": 0.5 } }),
    '{"a":{"z":true,"\\uff5e":null,"\\ud83d\\ude00":0.5},"b":1}',
  );
});

Deno.test("pythonJsonDumps() uses Python's default separators and keeps key order without sortKeys", () => {
  // json.dumps({"randomness": "ab", "round": 7})
  strictEqual(pythonJsonDumps({ round: 7, randomness: "ab" }), '{"round": 7, "randomness": "ab"}');
});

Deno.test("pythonJsonDumps() prints PythonFloat-marked integers as floats and bigints exactly", () => {
  strictEqual(
    pythonJsonDumps([new PythonFloat(0), 2n ** 64n, 3]),
    "[0.0, 18446744073709551616, 3]",
  );
});

Deno.test("pythonJsonDumps() writes empty containers", () => {
  strictEqual(pythonJsonDumps([[], {}]), "[[], {}]");
});

Deno.test("pythonJsonDumps() rejects integers beyond 2^53 given as numbers", () => {
  throws(() => pythonJsonDumps([2 ** 60]), RangeError);
});

Deno.test("pythonJsonDumps() rejects undefined members, naming where", () => {
  throws(() => pythonJsonDumps({ a: [undefined] } as never), /at a\[0\]/);
});

// repr(x) printed by CPython 3 for each value.
const REPR_VECTORS: [number, string][] = [
  [1764000001.25, "1764000001.25"],
  [1764000001.0, "1764000001.0"],
  [0.0001, "0.0001"],
  [1.5, "1.5"],
  [100.0, "100.0"],
  [1e-06, "1e-06"],
  [1.7976931348623157e308, "1.7976931348623157e+308"],
  [5e-324, "5e-324"],
  [12345.678, "12345.678"],
  [-3.0e20, "-3e+20"],
];

Deno.test("pythonFloatRepr() matches CPython repr(float) at the extremes and window timestamps", () => {
  for (const [x, text] of REPR_VECTORS) strictEqual(pythonFloatRepr(x), text, `repr(${x})`);
});

Deno.test("pythonFloatRepr() writes non-finite values as Python repr() does", () => {
  // [repr(float(s)) for s in ("nan", "inf", "-inf")]
  deepStrictEqual([NaN, Infinity, -Infinity].map(pythonFloatRepr), ["nan", "inf", "-inf"]);
});

Deno.test("pythonJsonString() leaves non-ASCII as is without ensure_ascii", () => {
  // json.dumps("é\x7f\n", ensure_ascii=False)
  strictEqual(pythonJsonString("é\x7f\n", false), '"é\x7f\\n"');
});

Deno.test("pythonJsonDumps() indents as json.dumps(indent=2), empty containers inline", () => {
  // json.dumps({"a": [], "b": {}, "c": [1, 2.0], "d": {"x": None, "y": True}}, indent=2)
  strictEqual(
    pythonJsonDumps(
      { a: [], b: {}, c: [1, new PythonFloat(2)], d: { x: null, y: true } },
      { indent: 2 },
    ),
    '{\n  "a": [],\n  "b": {},\n  "c": [\n    1,\n    2.0\n  ],\n  "d": {\n    "x": null,\n    "y": true\n  }\n}',
  );
});

Deno.test("pythonJsonDumps() sorts keys with the default separators", () => {
  // json.dumps({"lr": 1e-6, "epochs": 1, "kl_coef": 0.0}, sort_keys=True)
  strictEqual(
    pythonJsonDumps({ lr: 1e-6, epochs: 1, kl_coef: new PythonFloat(0) }, { sortKeys: true }),
    '{"epochs": 1, "kl_coef": 0.0, "lr": 1e-06}',
  );
});

Deno.test("sortCodePoints() orders astral characters after U+FFFF as Python does", () => {
  // sorted(["\U00010000", "\uffff", "a"])
  deepStrictEqual(sortCodePoints(["\u{10000}", "\uffff", "a"]), ["a", "\uffff", "\u{10000}"]);
});

Deno.test("sortCodePoints() returns an empty array for no keys", () => {
  deepStrictEqual(sortCodePoints([]), []);
});

Deno.test("pythonJsonLoads() keeps integers beyond 2^53 exact as bigints", () => {
  // json.loads('[9007199254740993, -99999999999999999999, 5]') keeps every digit.
  deepStrictEqual(
    pythonJsonLoads("[9007199254740993, -99999999999999999999, 5]"),
    [9007199254740993n, -99999999999999999999n, 5],
  );
});

Deno.test("pythonJsonLoads() with keepFloats round-trips float literals through pythonJsonDumps", () => {
  // json.dumps(json.loads(text), indent=2) == text in CPython.
  const text = '{\n  "lr": 1e-06,\n  "kl_coef": 0.0,\n  "epochs": 1,\n  "big": 1e+16\n}';
  const value = pythonJsonLoads(text, { keepFloats: true }) as PythonJsonValue;
  strictEqual(pythonJsonDumps(value, { indent: 2 }), text);
});

Deno.test("pythonJsonLoads() without keepFloats gives plain numbers", () => {
  deepStrictEqual(pythonJsonLoads('{"x": 1.0}'), { x: 1 });
});

Deno.test("pythonJsonLoads() throws SyntaxError for text that is not JSON", () => {
  throws(() => pythonJsonLoads("{'sketch': 1}"), SyntaxError);
});
