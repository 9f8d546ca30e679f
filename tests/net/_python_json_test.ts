// Expected strings were printed by CPython 3 (`repr(x)`, `json.dumps(...)`) on this machine;
// every comparison is exact (these texts are hashed or signed by the reference).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  PyFloat,
  pythonFloatRepr,
  pythonJsonDumps,
  sortCodePoints,
} from "../../src/net/_python_json.ts";

const REPR_VECTORS: [number, string][] = [
  [1764000001.25, "1764000001.25"],
  [1764000001.0, "1764000001.0"],
  [1e16, "1e+16"],
  [1e15, "1000000000000000.0"],
  [0.0001, "0.0001"],
  [1e-05, "1e-05"],
  [123456789012345678.0, "1.2345678901234568e+17"],
  [0.1, "0.1"],
  [-0.0, "-0.0"],
  [1.5, "1.5"],
  [100.0, "100.0"],
  [1e-06, "1e-06"],
  [2.5e-07, "2.5e-07"],
  [1.7976931348623157e308, "1.7976931348623157e+308"],
  [5e-324, "5e-324"],
  [12345.678, "12345.678"],
  [-3.0e20, "-3e+20"],
];

Deno.test("pythonFloatRepr() matches CPython repr(float) on 17 vectors", () => {
  for (const [x, text] of REPR_VECTORS) assertEquals(pythonFloatRepr(x), text, `repr(${x})`);
});

Deno.test("pythonFloatRepr() writes non-finite values as Python str() does", () => {
  assertEquals([NaN, Infinity, -Infinity].map(pythonFloatRepr), ["nan", "inf", "-inf"]);
});

Deno.test("pythonJsonDumps() uses Python's default separators", () => {
  assertEquals(
    pythonJsonDumps([{ sketch: 51 }, { sketch: 2147483426 }]),
    '[{"sketch": 51}, {"sketch": 2147483426}]',
  );
  assertEquals(
    pythonJsonDumps({ round: 1234567, randomness: "ab" }),
    '{"round": 1234567, "randomness": "ab"}',
  );
});

Deno.test("pythonJsonDumps() escapes as ensure_ascii does", () => {
  assertEquals(
    pythonJsonDumps('é\x7f\n"\\\x01\u{1F600}'),
    '"\\u00e9\\u007f\\n\\"\\\\\\u0001\\ud83d\\ude00"',
  );
  assertEquals(pythonJsonDumps("é\x7f", { ensureAscii: false }), '"é\x7f"');
});

Deno.test("pythonJsonDumps() indents as json.dumps(indent=2)", () => {
  assertEquals(
    pythonJsonDumps(
      { a: [], b: {}, c: [1, new PyFloat(2)], d: { x: null, y: true } },
      { indent: 2 },
    ),
    '{\n  "a": [],\n  "b": {},\n  "c": [\n    1,\n    2.0\n  ],\n  "d": {\n    "x": null,\n    "y": true\n  }\n}',
  );
});

Deno.test("pythonJsonDumps() sorts keys and honours separators", () => {
  assertEquals(
    pythonJsonDumps({ b: 1, a: 2, B: 3 }, { sortKeys: true, separators: [",", ":"] }),
    '{"B":3,"a":2,"b":1}',
  );
  assertEquals(
    pythonJsonDumps(
      { lr: 1e-6, epochs: 1, kl_coef: new PyFloat(0) },
      { sortKeys: true },
    ),
    '{"epochs": 1, "kl_coef": 0.0, "lr": 1e-06}',
  );
});

Deno.test("sortCodePoints() orders astral characters after U+FFFF as Python does", () => {
  assertEquals(sortCodePoints(["\u{10000}", "\uffff", "a"]), ["a", "\uffff", "\u{10000}"]);
});
