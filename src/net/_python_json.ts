/**
 * Python `json.dumps` and `str(float)` text, byte for byte, for the strings the reference writes
 * with Python (window-file `commitments`/`beacon` columns, checkpoint `metadata.json`,
 * `config_hash`). JavaScript numbers do not say whether Python held an int or a float, so a value
 * that Python holds as a float is wrapped in {@link PyFloat}; a bare number is written as Python
 * would write an `int` when it is integral, as a float otherwise.
 *
 * @module
 */

/** A number that Python holds as `float` (so `1` is written `1.0`). */
export class PyFloat {
  /**
   * Wraps a number.
   *
   * @param value The float's value.
   */
  constructor(readonly value: number) {}
}

/** A value Python's `json` module can write. */
export type PyJson =
  | null
  | boolean
  | number
  | PyFloat
  | string
  | readonly PyJson[]
  | { readonly [key: string]: PyJson | undefined };

/** Options of {@link pythonJsonDumps}, named as in Python. */
export interface PyJsonOptions {
  /** `indent=N` (pretty printing, separators `","` and `": "`); absent means one line. */
  indent?: number;
  /** `separators=(item, key)`; default `(", ", ": ")`, or `(",", ": ")` with an indent. */
  separators?: readonly [string, string];
  /** `sort_keys=True`: keys in code-point order. */
  sortKeys?: boolean;
  /** `ensure_ascii` (Python's default true): escape every non-ASCII code unit as `\uXXXX`. */
  ensureAscii?: boolean;
}

/**
 * Python `repr(float)` / `str(float)` (short repr, CPython ≥ 3.1): fixed notation for decimal
 * exponents -5 < e < 16 with at least one fractional digit, else `d.ddde±XX`.
 *
 * @param x Any number.
 * @returns The text Python prints for `float(x)`.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest round-trip digits, as Python's repr.
  const [mantissa, expText] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const e = Number(expText);
  if (e < -4 || e >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const expSign = e < 0 ? "-" : "+";
    return `${sign}${digits[0]}${frac}e${expSign}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  const intPart = digits.length > e + 1 ? digits.slice(0, e + 1) : digits.padEnd(e + 1, "0");
  const fracPart = digits.length > e + 1 ? digits.slice(e + 1) : "0";
  return `${sign}${intPart}.${fracPart}`;
}

function floatJson(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return pythonFloatRepr(x);
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function stringJson(s: string, ensureAscii: boolean): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`; // nothing to escape: the common case, kept fast
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const code = s.charCodeAt(i);
    if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
    else if (code < 0x20 || (ensureAscii && code > 0x7e)) {
      // Python escapes DEL (0x7f) too when ensure_ascii is on; UTF-16 units match its surrogates.
      out += `\\u${code.toString(16).padStart(4, "0")}`;
    } else out += ch;
  }
  return out + '"';
}

function compareCodePoints(a: string, b: string): number {
  const ca = [...a];
  const cb = [...b];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = ca[i].codePointAt(0)! - cb[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

/**
 * Sorts strings in code-point order, as Python's `sorted()` does (JavaScript's default sort
 * compares UTF-16 code units, which differs above U+FFFF).
 *
 * @param keys Strings to sort; not modified.
 * @returns A new sorted array.
 */
export function sortCodePoints(keys: Iterable<string>): string[] {
  return [...keys].sort(compareCodePoints);
}

/**
 * Python `json.dumps(value, ...)` with the same options and the same text.
 *
 * @param value A JSON value; wrap Python floats in {@link PyFloat}.
 * @param options `indent`, `separators`, `sortKeys`, `ensureAscii` as in Python.
 * @returns The exact text Python would produce.
 * @throws {TypeError} A value Python's json cannot write (function, bigint, undefined at top).
 */
export function pythonJsonDumps(value: PyJson, options: PyJsonOptions = {}): string {
  const indent = options.indent;
  const [itemSep, keySep] = options.separators ??
    (indent === undefined ? [", ", ": "] : [",", ": "]);
  const ensureAscii = options.ensureAscii ?? true;
  const write = (v: PyJson, level: number): string => {
    if (v === null) return "null";
    if (v === true) return "true";
    if (v === false) return "false";
    if (v instanceof PyFloat) return floatJson(v.value);
    if (typeof v === "number") {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return String(v);
      return Number.isInteger(v) ? String(BigInt(v)) : floatJson(v);
    }
    if (typeof v === "string") return stringJson(v, ensureAscii);
    const open = indent === undefined ? "" : "\n" + " ".repeat(indent * (level + 1));
    const close = indent === undefined ? "" : "\n" + " ".repeat(indent * level);
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      const items = (v as readonly PyJson[]).map((x) => write(x, level + 1));
      return "[" + open + items.join(itemSep + open) + close + "]";
    }
    if (typeof v === "object") {
      const obj = v as { readonly [key: string]: PyJson | undefined };
      let keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
      if (options.sortKeys) keys = sortCodePoints(keys);
      if (keys.length === 0) return "{}";
      const items = keys.map((k) =>
        stringJson(k, ensureAscii) + keySep + write(obj[k] as PyJson, level + 1)
      );
      return "{" + open + items.join(itemSep + open) + close + "}";
    }
    throw new TypeError(`Cannot write ${typeof v} as JSON: ${String(v).slice(0, 40)}`);
  };
  return write(value, 0);
}
