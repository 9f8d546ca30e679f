/**
 * Python `json.dumps` output, byte for byte, for the values GRAIL hashes or stores (protocol spec
 * §4.3 canonical commitments JSON; §4.5 window-file JSON strings).
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
  /** `sort_keys`; default false. */
  sortKeys?: boolean;
  /** `separators` (item, key); default `[", ", ": "]`. */
  separators?: readonly [string, string];
}

/**
 * Python's `repr(float)`: shortest round-trip digits, exponent form when the decimal exponent is
 * below −4 or at least 16, `.0` on integral values, `inf`/`nan` spelled as JSON does
 * (`Infinity`, `-Infinity`, `NaN`).
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
 * ```
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
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

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

/**
 * A JSON string literal as Python's `json.dumps` (with `ensure_ascii=True`) writes it: every
 * character outside `' '..'~'` escaped, `\uXXXX` in lowercase hex, astral characters as
 * surrogate pairs.
 *
 * @param s The string.
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
export function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const c = s.charCodeAt(i);
    if (SHORT_ESCAPES[ch] !== undefined) out += SHORT_ESCAPES[ch];
    else if (c < 0x20 || c > 0x7e) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
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
 * Serialises a value exactly as Python's `json.dumps(value, sort_keys=…, separators=…)` with the
 * default `ensure_ascii=True` and `allow_nan=True`. Integral numbers and bigints print as ints;
 * other numbers and {@linkcode PythonFloat} print as Python floats.
 *
 * @param value The value.
 * @param options `sortKeys` and `separators`, as in Python.
 * @returns The JSON text.
 * @throws {TypeError} For values JSON cannot hold (undefined, functions, symbols).
 * @throws {RangeError} For integral numbers beyond 2^53 (pass a bigint instead).
 *
 * @example
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
 */
export function pythonJsonDumps(value: PythonJsonValue, options: PythonJsonOptions = {}): string {
  const [itemSep, keySep] = options.separators ?? [", ", ": "];
  const sortKeys = options.sortKeys ?? false;
  const write = (v: unknown, path: string): string => {
    if (v === null) return "null";
    if (v === true) return "true";
    if (v === false) return "false";
    if (typeof v === "string") return pythonJsonString(v);
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
      return pythonFloatRepr(v);
    }
    if (v instanceof PythonFloat) return pythonFloatRepr(v.value);
    if (Array.isArray(v)) {
      return "[" + v.map((x, i) => write(x, `${path}[${i}]`)).join(itemSep) + "]";
    }
    if (typeof v === "object") {
      const keys = Object.keys(v as object);
      if (sortKeys) keys.sort(compareCodePoints);
      return "{" +
        keys.map((k) =>
          pythonJsonString(k) + keySep +
          write((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k)
        ).join(itemSep) +
        "}";
    }
    throw new TypeError(`Cannot write a ${typeof v} at ${path || "(root)"} as JSON`);
  };
  return write(value, "");
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
