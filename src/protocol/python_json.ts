/**
 * Python `json.dumps` and `repr(float)` text, byte for byte, for the values GRAIL hashes or stores
 * (protocol spec §4.3 canonical commitments JSON; §4.5 window-file JSON strings and `timestamp`;
 * checkpoint `metadata.json`, `config_hash` and the delta header). JavaScript numbers do not say
 * whether Python held an int or a float, so a value Python holds as a float is wrapped in
 * {@linkcode PythonFloat}; a bare integral number is written as a Python `int`.
 *
 * @module
 */

/**
 * Marks a number as a Python `float`, so it prints as `1.0` rather than `1`. Non-integral numbers
 * are always floats; integral ones print as Python ints unless wrapped.
 *
 * @example
 * ```ts
 * import { PythonFloat, pythonJsonDumps } from "./python_json.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(pythonJsonDumps([new PythonFloat(0), 0]), "[0.0, 0]");
 * ```
 */
export class PythonFloat {
  /**
   * Wraps a number to be written as a Python float.
   *
   * @param value The float's value.
   */
  constructor(readonly value: number) {}
}

/** A value {@linkcode pythonJsonDumps} can serialise. */
export type PythonJsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PythonFloat
  | readonly PythonJsonValue[]
  | { readonly [key: string]: PythonJsonValue };

/** Options of {@linkcode pythonJsonDumps}, named after Python's. */
export interface PythonJsonOptions {
  /** `sort_keys`: keys in code-point order; default false. */
  sortKeys?: boolean;
  /** `separators` (item, key); default `[", ", ": "]`, or `[",", ": "]` with an indent. */
  separators?: readonly [string, string];
  /** `indent=N`: one item a line, N spaces a level; absent means one line. */
  indent?: number;
  /** `ensure_ascii` (Python's default true): escape every code unit outside `' '..'~'`. */
  ensureAscii?: boolean;
}

/**
 * Python's `repr(float)` (= `str(float)` since CPython 3.2): shortest round-trip digits, exponent
 * form when the decimal exponent is below −4 or at least 16, `.0` on integral values, `nan`,
 * `inf` and `-inf` for non-finite values (JSON spells those differently: see
 * {@linkcode pythonJsonDumps}).
 *
 * @param x The number.
 * @returns Its Python float text.
 *
 * @example
 * ```ts
 * import { pythonFloatRepr } from "./python_json.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(pythonFloatRepr(1e16), "1e+16");
 * strictEqual(pythonFloatRepr(1e-5), "1e-05");
 * strictEqual(pythonFloatRepr(-0), "-0.0");
 * strictEqual(pythonFloatRepr(1e15), "1000000000000000.0");
 * strictEqual(pythonFloatRepr(-Infinity), "-inf");
 * ```
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest round-trip digits, like repr.
  const [mantissa, expText] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  const decpt = exp + 1;
  if (decpt <= -4 || decpt > 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, "0");
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${e}`;
  }
  if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

// json.dumps(allow_nan=True) spells non-finite floats as JavaScript does, unlike repr().
function floatJson(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return pythonFloatRepr(x);
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

// Nothing to escape: the common case (hex, names), kept fast for large window files.
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * A JSON string literal as Python's `json.dumps` writes it: with `ensure_ascii=True` (the
 * default) every character outside `' '..'~'` escaped, `\uXXXX` in lowercase hex, astral
 * characters as surrogate pairs; with it off, only quotes, backslashes and control characters.
 *
 * @param s The string.
 * @param ensureAscii Python's `ensure_ascii`; default true.
 * @returns The quoted literal.
 *
 * @example
 * ```ts
 * import { pythonJsonString } from "./python_json.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(pythonJsonString("é\n\x7f"), '"\\u00e9\\n\\u007f"');
 * ```
 */
export function pythonJsonString(s: string, ensureAscii = true): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const c = s.charCodeAt(i);
    if (SHORT_ESCAPES[ch] !== undefined) out += SHORT_ESCAPES[ch];
    // Python escapes DEL (0x7f) too under ensure_ascii; UTF-16 units match its surrogate pairs.
    else if (c < 0x20 || (ensureAscii && c > 0x7e)) {
      out += "\\u" + c.toString(16).padStart(4, "0");
    } else out += ch;
  }
  return out + '"';
}

// Python sorts str keys by code point; JS's default sort compares UTF-16 units.
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  while (true) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/**
 * Sorts strings in code-point order, as Python's `sorted()` does (JavaScript's default sort
 * compares UTF-16 code units, which differs above U+FFFF).
 *
 * @param keys Strings to sort; not modified.
 * @returns A new sorted array.
 *
 * @example
 * ```ts
 * import { sortCodePoints } from "./python_json.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(sortCodePoints(["\u{10000}", "\uffff", "a"]), ["a", "\uffff", "\u{10000}"]);
 * ```
 */
export function sortCodePoints(keys: Iterable<string>): string[] {
  return [...keys].sort(compareCodePoints);
}

/**
 * Serialises a value exactly as Python's `json.dumps(value, sort_keys=…, separators=…,
 * indent=…, ensure_ascii=…)` with `allow_nan=True`. Integral numbers and bigints print as ints;
 * other numbers and {@linkcode PythonFloat} print as Python floats.
 *
 * @param value The value.
 * @param options `sortKeys`, `separators`, `indent` and `ensureAscii`, as in Python.
 * @returns The JSON text.
 * @throws {TypeError} For values JSON cannot hold (undefined, functions, symbols), naming where.
 * @throws {RangeError} For integral numbers beyond 2^53 (pass a bigint instead).
 *
 * @example Default separators and a sorted compact form
 * ```ts
 * import { pythonJsonDumps } from "./python_json.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(pythonJsonDumps([{ sketch: 5 }, { sketch: 7 }]), '[{"sketch": 5}, {"sketch": 7}]');
 * strictEqual(
 *   pythonJsonDumps({ b: 1, a: [0.5] }, { sortKeys: true, separators: [",", ":"] }),
 *   '{"a":[0.5],"b":1}',
 * );
 * ```
 *
 * @example Indented, as `json.dumps(value, indent=2)`
 * ```ts
 * import { PythonFloat, pythonJsonDumps } from "./python_json.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(pythonJsonDumps({ lr: new PythonFloat(1) }, { indent: 2 }), '{\n  "lr": 1.0\n}');
 * ```
 */
export function pythonJsonDumps(value: PythonJsonValue, options: PythonJsonOptions = {}): string {
  const indent = options.indent;
  const [itemSep, keySep] = options.separators ??
    (indent === undefined ? [", ", ": "] : [",", ": "]);
  const sortKeys = options.sortKeys ?? false;
  const ensureAscii = options.ensureAscii ?? true;
  const write = (v: unknown, path: string, level: number): string => {
    if (v === null) return "null";
    if (v === true) return "true";
    if (v === false) return "false";
    if (typeof v === "string") return pythonJsonString(v, ensureAscii);
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "number") {
      if (Number.isInteger(v)) {
        if (!Number.isSafeInteger(v)) {
          throw new RangeError(
            `Cannot write integer ${v} at ${path || "(root)"} exactly: pass it as a bigint`,
          );
        }
        return Object.is(v, -0) ? "0" : String(v);
      }
      return floatJson(v);
    }
    if (v instanceof PythonFloat) return floatJson(v.value);
    // Python writes empty containers as []/{} even with an indent.
    const open = indent === undefined ? "" : "\n" + " ".repeat(indent * (level + 1));
    const close = indent === undefined ? "" : "\n" + " ".repeat(indent * level);
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      const items = v.map((x, i) => write(x, `${path}[${i}]`, level + 1));
      return "[" + open + items.join(itemSep + open) + close + "]";
    }
    if (typeof v === "object") {
      const obj = v as Record<string, unknown>;
      const keys = sortKeys ? sortCodePoints(Object.keys(obj)) : Object.keys(obj);
      if (keys.length === 0) return "{}";
      const items = keys.map((k) =>
        pythonJsonString(k, ensureAscii) + keySep +
        write(obj[k], path ? `${path}.${k}` : k, level + 1)
      );
      return "{" + open + items.join(itemSep + open) + close + "}";
    }
    throw new TypeError(`Cannot write a ${typeof v} at ${path || "(root)"} as JSON`);
  };
  return write(value, "", 0);
}

/** Options of {@linkcode pythonJsonLoads}. */
export interface PythonJsonLoadsOptions {
  /** Wrap numbers written with a `.` or an exponent in {@linkcode PythonFloat}; default false. */
  keepFloats?: boolean;
}

/**
 * Parses JSON keeping what Python's `json.loads` keeps and JavaScript's `JSON.parse` loses:
 * integers beyond 2^53 stay exact (as bigints) and, when asked, float literals stay floats (as
 * {@linkcode PythonFloat}), so {@linkcode pythonJsonDumps} writes the same text back.
 *
 * @param text The JSON text.
 * @param options `keepFloats`.
 * @returns The value.
 * @throws {SyntaxError} For text that is not JSON, as `JSON.parse`.
 *
 * @example
 * ```ts
 * import { PythonFloat, pythonJsonDumps, pythonJsonLoads } from "./python_json.ts";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(pythonJsonLoads('{"round": 18446744073709551616}'), { round: 2n ** 64n });
 * const text = '{"lr": 1.0, "epochs": 1}';
 * const value = pythonJsonLoads(text, { keepFloats: true });
 * deepStrictEqual(value, { lr: new PythonFloat(1), epochs: 1 });
 * strictEqual(pythonJsonDumps(value as { lr: PythonFloat; epochs: number }), text);
 * ```
 */
export function pythonJsonLoads(text: string, options: PythonJsonLoadsOptions = {}): unknown {
  const keepFloats = options.keepFloats ?? false;
  return JSON.parse(text, (_key, value, context?: { source?: string }) => {
    if (typeof value !== "number") return value;
    const literal = context?.source ?? "";
    if (/[.eE]/.test(literal)) return keepFloats ? new PythonFloat(value) : value;
    return Number.isSafeInteger(value) || !/^-?\d+$/.test(literal) ? value : BigInt(literal);
  });
}

/**
 * The canonical JSON of the commit binding: `json.dumps(value, sort_keys=True,
 * separators=(",", ":"))`.
 *
 * @param value The value.
 * @returns Compact JSON text with sorted keys.
 * @throws {TypeError} For values JSON cannot hold.
 * @throws {RangeError} For integral numbers beyond 2^53 (pass a bigint instead).
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./python_json.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(canonicalJson([{ sketch: 0 }, { sketch: 104729 }]), '[{"sketch":0},{"sketch":104729}]');
 * ```
 */
export function canonicalJson(value: PythonJsonValue): string {
  return pythonJsonDumps(value, { sortKeys: true, separators: [",", ":"] });
}
