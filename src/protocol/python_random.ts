/**
 * A CPython-compatible Mersenne Twister (`random.Random`), bit for bit: the same seed gives the
 * same draws as CPython 3.11–3.13 (protocol spec §2.2). Challenge indices, validator group
 * sampling and environments all depend on this equivalence.
 *
 * @module
 */

import { sha512 } from "@noble/hashes/sha2.js";

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** Largest `k` for which {@linkcode PythonRandom.getrandbits} still returns an exact JS number. */
export const MAX_GETRANDBITS: number = 53;

/**
 * CPython's `random.Random`, reproduced exactly for the methods GRAIL and its environments use.
 *
 * Seeding follows CPython: an integer seed (number or bigint) uses the 32-bit words of `|seed|`,
 * least significant first; a byte seed uses `material || sha512(material)` read as a big-endian
 * integer (CPython's version-2 seeding of `bytes`/`str`). To seed from a Python `str`, pass its
 * UTF-8 bytes.
 *
 * @example Integer seed, as `random.Random(42).random()`
 * ```ts
 * import { PythonRandom } from "./python_random.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(new PythonRandom(42).random(), 0.6394267984578837);
 * ```
 *
 * @example Sampling, as `random.Random(1).sample(range(10), 3)`
 * ```ts
 * import { PythonRandom } from "./python_random.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(new PythonRandom(1).sample([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3), [2, 1, 4]);
 * ```
 */
export class PythonRandom {
  #mt: Uint32Array = new Uint32Array(N);
  #mti: number = N + 1;

  /**
   * Seeds the generator exactly as CPython's `random.Random(seed)`.
   *
   * @param seed An integer (number must be a safe integer; use a bigint beyond 2^53) or bytes.
   * @throws {TypeError} If `seed` is not a number, bigint or Uint8Array.
   * @throws {RangeError} If a number seed is not a safe integer.
   */
  constructor(seed: number | bigint | Uint8Array) {
    this.#initByArray(pythonSeedKeyWords(seed));
  }

  #initGenrand(s: number): void {
    const mt = this.#mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1];
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.#mti = N;
  }

  #initByArray(key: Uint32Array): void {
    const mt = this.#mt;
    this.#initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1];
      mt[i] = ((mt[i] ^ Math.imul(prev ^ (prev >>> 30), 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1];
      mt[i] = ((mt[i] ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.#mti = N;
  }

  #generate(): void {
    const mt = this.#mt;
    let kk = 0;
    for (; kk < N - M; kk++) {
      const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < N - 1; kk++) {
      const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.#mti = 0;
  }

  /**
   * Next raw 32-bit output of MT19937 (CPython's `genrand_uint32`).
   *
   * @returns An integer in `[0, 2^32)`.
   *
   * @example First output of `random.Random(0)` (`getrandbits(32)`)
   * ```ts
   * import { PythonRandom } from "./python_random.ts";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * deepStrictEqual(new PythonRandom(0).nextUint32(), 3626764237);
   * ```
   */
  nextUint32(): number {
    if (this.#mti >= N) this.#generate();
    let y = this.#mt[this.#mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * CPython `getrandbits(k)`: an integer with `k` random bits. For `k > 32` the words are drawn
   * least significant first, as CPython does, so results match up to `k = 53`.
   *
   * @param k Number of bits, `0 ≤ k ≤ 53`.
   * @returns An integer in `[0, 2^k)`.
   * @throws {RangeError} If `k` is not an integer in `[0, 53]`.
   *
   * @example
   * ```ts
   * import { PythonRandom } from "./python_random.ts";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * // random.Random(0).getrandbits(8)
   * deepStrictEqual(new PythonRandom(0).getrandbits(8), 216);
   * ```
   */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > MAX_GETRANDBITS) {
      throw new RangeError(
        `Cannot draw getrandbits(${k}): k must be an integer in [0, ${MAX_GETRANDBITS}]`,
      );
    }
    if (k === 0) return 0;
    if (k <= 32) return this.nextUint32() >>> (32 - k);
    const low = this.nextUint32();
    const high = this.nextUint32() >>> (64 - k);
    return high * 0x100000000 + low;
  }

  /**
   * CPython `_randbelow(n)`: rejection sampling with `bitlen(n)` bits (not `bitlen(n − 1)`), so
   * e.g. `n = 32` draws 6 bits per try.
   *
   * @param n Exclusive upper bound, an integer in `[1, 2^53)`.
   * @returns An integer in `[0, n)`.
   * @throws {RangeError} If `n` is not an integer in `[1, 2^53)`.
   *
   * @example
   * ```ts
   * import { PythonRandom } from "./python_random.ts";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * // random.Random(0)._randbelow(10)
   * deepStrictEqual(new PythonRandom(0).randbelow(10), 6);
   * ```
   */
  randbelow(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(`Cannot draw randbelow(${n}): n must be a safe integer ≥ 1`);
    }
    const k = bitLength(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /**
   * CPython `random()`: a 53-bit float in `[0, 1)` from two 32-bit outputs.
   *
   * @returns A number in `[0, 1)`.
   *
   * @example
   * ```ts
   * import { PythonRandom } from "./python_random.ts";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * deepStrictEqual(new PythonRandom(0).random(), 0.8444218515250481);
   * ```
   */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * CPython `randint(a, b)` (= `randrange(a, b + 1)`): an integer in `[a, b]`.
   *
   * @param a Lower bound, inclusive (safe integer).
   * @param b Upper bound, inclusive (safe integer, `b ≥ a`).
   * @returns An integer in `[a, b]`.
   * @throws {RangeError} If the bounds are not safe integers or `b < a`.
   *
   * @example
   * ```ts
   * import { PythonRandom } from "./python_random.ts";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * // random.Random(0).randint(1, 6)
   * deepStrictEqual(new PythonRandom(0).randint(1, 6), 4);
   * ```
   */
  randint(a: number, b: number): number {
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || b < a) {
      throw new RangeError(
        `Cannot draw randint(${a}, ${b}): bounds must be safe integers with a ≤ b`,
      );
    }
    return a + this.randbelow(b - a + 1);
  }

  /**
   * CPython `choice(seq)`: `seq[_randbelow(len(seq))]`.
   *
   * @param seq A non-empty sequence.
   * @returns One element of `seq`.
   * @throws {RangeError} If `seq` is empty.
   *
   * @example
   * ```ts
   * import { PythonRandom } from "./python_random.ts";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * // random.Random(0).choice("abcdefghij")
   * deepStrictEqual(new PythonRandom(0).choice([..."abcdefghij"]), "g");
   * ```
   */
  choice<T>(seq: readonly T[]): T {
    if (seq.length === 0) {
      throw new RangeError("Cannot choose from an empty sequence; pass at least one element");
    }
    return seq[this.randbelow(seq.length)];
  }

  /**
   * CPython `sample(population, k)`: `k` distinct elements in selection order, with CPython's two
   * branches (a pool copy when the population is small relative to `k`, otherwise rejection of
   * repeated picks), which consume the generator differently.
   *
   * @param population The population (its order matters).
   * @param k How many elements to pick, `0 ≤ k ≤ population.length`.
   * @returns The chosen elements, in the order drawn.
   * @throws {RangeError} If `k` is not an integer in `[0, population.length]`.
   *
   * @example
   * ```ts
   * import { PythonRandom } from "./python_random.ts";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * // random.Random(0).sample(range(100), 3)
   * const population = Array.from({ length: 100 }, (_, i) => i);
   * deepStrictEqual(new PythonRandom(0).sample(population, 3), [49, 97, 53]);
   * ```
   */
  sample<T>(population: readonly T[], k: number): T[] {
    return this.sampleIndices(population.length, k).map((j) => population[j]);
  }

  /**
   * The positions `sample(range(n), k)` would return, without building the population.
   *
   * @param n Population size (safe integer ≥ 0).
   * @param k How many positions to pick, `0 ≤ k ≤ n`.
   * @returns `k` distinct integers in `[0, n)`, in the order drawn.
   * @throws {RangeError} If `n` or `k` is out of range.
   *
   * @example
   * ```ts
   * import { PythonRandom } from "./python_random.ts";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * deepStrictEqual(new PythonRandom(0).sampleIndices(100, 3), [49, 97, 53]);
   * ```
   */
  sampleIndices(n: number, k: number): number[] {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`Cannot sample from a population of size ${n}: expected an integer ≥ 0`);
    }
    if (!Number.isInteger(k) || k < 0 || k > n) {
      throw new RangeError(
        `Cannot sample ${k} elements from a population of ${n}: sample larger than population or is negative`,
      );
    }
    // CPython compares the cost of an n-list against a k-set; the branch decides how draws are used.
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    const out = new Array<number>(k);
    if (n <= setsize) {
      const pool = Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        out[i] = pool[j];
        pool[j] = pool[n - i - 1];
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        out[i] = j;
      }
    }
    return out;
  }

  /**
   * CPython `shuffle(x)` in place: for `i` from `len − 1` down to 1, swap `x[i]` with
   * `x[_randbelow(i + 1)]`.
   *
   * @param x The array to shuffle in place.
   *
   * @example
   * ```ts
   * import { PythonRandom } from "./python_random.ts";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * // x = list(range(10)); random.Random(0).shuffle(x)
   * const x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
   * new PythonRandom(0).shuffle(x);
   * deepStrictEqual(x, [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]);
   * ```
   */
  shuffle<T>(x: T[]): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
  }
}

function bitLength(n: number): number {
  return n < 0x100000000 ? 32 - Math.clz32(n) : 32 + bitLength(Math.floor(n / 0x100000000));
}

/**
 * The `init_by_array` key CPython's `random_seed` derives from a seed: the 32-bit words of
 * `|seed|`, least significant first, `[0]` for zero. Byte seeds become
 * `material || sha512(material)` read big-endian first (so a 32-byte seed gives 24 words, fewer if
 * it starts with zero bytes).
 *
 * @param seed An integer (safe-integer number or bigint) or bytes.
 * @returns The key words.
 * @throws {TypeError} If `seed` is not a number, bigint or Uint8Array.
 * @throws {RangeError} If a number seed is not a safe integer.
 *
 * @example
 * ```ts
 * import { pythonSeedKeyWords } from "./python_random.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(Array.from(pythonSeedKeyWords(2n ** 32n + 7n)), [7, 1]);
 * deepStrictEqual(Array.from(pythonSeedKeyWords(-5)), [5]);
 * ```
 */
export function pythonSeedKeyWords(seed: number | bigint | Uint8Array): Uint32Array {
  if (seed instanceof Uint8Array) {
    const full = new Uint8Array(seed.length + 64);
    full.set(seed);
    full.set(sha512(seed), seed.length);
    return bigEndianKeyWords(full);
  }
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(
        `Cannot seed PythonRandom with ${seed}: expected a safe integer; pass a bigint for larger values`,
      );
    }
    return bigintKeyWords(BigInt(seed));
  }
  if (typeof seed === "bigint") return bigintKeyWords(seed);
  throw new TypeError(
    `Cannot seed PythonRandom with a ${typeof seed}: expected a number, bigint or Uint8Array`,
  );
}

function bigintKeyWords(seed: bigint): Uint32Array {
  let n = seed < 0n ? -seed : seed;
  if (n === 0n) return Uint32Array.of(0);
  const words: number[] = [];
  while (n > 0n) {
    words.push(Number(n & 0xffffffffn));
    n >>= 32n;
  }
  return Uint32Array.from(words);
}

/** Key words of the big-endian integer in `bytes`; leading zero words are dropped, as CPython does. */
function bigEndianKeyWords(bytes: Uint8Array): Uint32Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  const significant = bytes.length - start;
  if (significant === 0) return Uint32Array.of(0);
  const nwords = Math.ceil(significant / 4);
  const key = new Uint32Array(nwords);
  for (let w = 0; w < nwords; w++) {
    let word = 0;
    for (let b = 3; b >= 0; b--) {
      const idx = bytes.length - 1 - (w * 4 + b);
      word = word * 256 + (idx >= start ? bytes[idx] : 0);
    }
    key[w] = word;
  }
  return key;
}
