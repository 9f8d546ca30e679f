/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32) for sampling
 * and for making tiny test models. Not cryptographic; reproducible on every platform because it
 * uses only 32-bit integer arithmetic.
 *
 * @module
 */

/** Anything that yields uniform floats in [0, 1): {@link SeededRandom}, or the protocol's PythonRandom. */
export interface UniformSource {
  /** A uniform float in [0, 1). */
  random(): number;
}

function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [s, (z ^ (z >>> 16)) >>> 0];
}

/**
 * xoshiro128** seeded from a 32-bit integer.
 *
 * @example Same seed, same stream
 * ```ts
 * import { SeededRandom } from "./seeded_random.ts";
 * const a = new SeededRandom(7), b = new SeededRandom(7);
 * const x = a.random();
 * if (x !== b.random() || x < 0 || x >= 1) throw new Error();
 * ```
 */
export class SeededRandom implements UniformSource {
  #s = new Uint32Array(4);

  /**
   * Seeds the generator.
   *
   * @param seed Any integer (taken modulo 2^32).
   * @throws {RangeError} If seed is not an integer.
   */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new RangeError(`Invalid seed: got ${seed}, expected an integer`);
    }
    let state = seed | 0;
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(state);
      state = next;
      this.#s[i] = out;
    }
  }

  /**
   * Next 32 random bits.
   *
   * @returns An integer in [0, 2^32).
   */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /**
   * A uniform float in [0, 1) with 53 random bits.
   *
   * @returns The float.
   */
  random(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * A standard normal draw (Box–Muller).
   *
   * @returns The draw.
   *
   * @example
   * ```ts
   * import { SeededRandom } from "./seeded_random.ts";
   * if (!Number.isFinite(new SeededRandom(1).normal())) throw new Error();
   * ```
   */
  normal(): number {
    const u1 = 1 - this.random(); // in (0, 1], so log is finite
    const u2 = this.random();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
