// Golden values: grail-vectors.json (checked there against CPython 3.11.7 `random`) and literals
// printed by CPython 3.11.7's `random` module (the command is quoted beside each). All exact:
// the generator is integer arithmetic, and random() is an exact 53-bit quotient.
import { deepStrictEqual, throws } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { PythonRandom, pythonSeedKeyWords } from "../../src/protocol/python_random.ts";
import { fromHex, readFixtureJson, toHex } from "./_fixtures.ts";

interface GrailVectors {
  mt_seed_example: {
    seed_bytes_hex: string;
    sha512_of_seed_hex: string;
    key_words_count: number;
    key_words_first4_hex: string[];
    first_10_u32: number[];
  };
  mt_seed_empty_bytes: { first_5_u32: number[] };
  group_sampling: {
    hotkey: string;
    window_rand: string;
    seed_int: bigint;
    key_words_hex: string[];
    sample_10_keys_k1: string[];
    sample_40_keys_k4: string[];
  };
}

const vectors = await readFixtureJson<GrailVectors>("grail-vectors.json");
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

Deno.test("pythonSeedKeyWords() matches the 96-byte key of a bytes seed (grail-vectors mt_seed_example)", () => {
  const v = vectors.mt_seed_example;
  const key = pythonSeedKeyWords(fromHex(v.seed_bytes_hex));
  deepStrictEqual(key.length, v.key_words_count);
  deepStrictEqual(
    Array.from(key.slice(0, 4), (w) => w.toString(16).padStart(8, "0")),
    v.key_words_first4_hex,
  );
  // key[23] is the first 4 seed bytes, key[0] the last 4 bytes of sha512(seed)
  deepStrictEqual(key[23].toString(16).padStart(8, "0"), v.seed_bytes_hex.slice(0, 8));
});

Deno.test("PythonRandom() with a bytes seed reproduces CPython's first outputs (mt_seed_example)", () => {
  const rng = new PythonRandom(fromHex(vectors.mt_seed_example.seed_bytes_hex));
  deepStrictEqual(range(10).map(() => rng.getrandbits(32)), vectors.mt_seed_example.first_10_u32);
});

Deno.test("PythonRandom() with empty bytes seeds from sha512 alone (mt_seed_empty_bytes)", () => {
  const rng = new PythonRandom(new Uint8Array());
  deepStrictEqual(range(5).map(() => rng.nextUint32()), vectors.mt_seed_empty_bytes.first_5_u32);
});

Deno.test("pythonSeedKeyWords() drops leading zero words of a bytes seed", () => {
  // random.Random(b'\x00'*6 + b'\x01') would differ if zero words were kept; CPython 3.11.7:
  // r = random.Random(b'\x00\x00\x00\x00\x00\x01'); [r.getrandbits(32) for _ in range(3)]
  const rng = new PythonRandom(Uint8Array.of(0, 0, 0, 0, 0, 1));
  deepStrictEqual(range(3).map(() => rng.nextUint32()), [3318055417, 386613235, 3642170604]);
});

Deno.test("PythonRandom() with a bigint seed beyond 2^53 uses its exact key words (group_sampling)", () => {
  const v = vectors.group_sampling;
  deepStrictEqual(typeof v.seed_int, "bigint");
  // The seed is BE uint64 of sha256(hotkey + ":" + window_rand)[0:8] (spec §5.4).
  const digest = sha256(new TextEncoder().encode(`${v.hotkey}:${v.window_rand}`));
  deepStrictEqual(BigInt("0x" + toHex(digest.slice(0, 8))), v.seed_int);
  deepStrictEqual(
    Array.from(pythonSeedKeyWords(v.seed_int), (w) => w.toString(16).padStart(8, "0")),
    v.key_words_hex,
  );
});

Deno.test("sample() picks CPython's group keys for k=1 of 10 (pool branch) and k=4 of 40 (set branch)", () => {
  const v = vectors.group_sampling;
  const keys = (n: number) => range(n).map(String);
  deepStrictEqual(new PythonRandom(v.seed_int).sample(keys(10), 1), v.sample_10_keys_k1);
  deepStrictEqual(new PythonRandom(v.seed_int).sample(keys(40), 4), v.sample_40_keys_k4);
});

Deno.test("PythonRandom() with a negative bigint seed uses its absolute value", () => {
  // r = random.Random(-12345678901234567890123); [r.getrandbits(32) for _ in range(3)]
  const expected = [678764485, 4198308164, 4236283067];
  for (const seed of [-12345678901234567890123n, 12345678901234567890123n]) {
    const rng = new PythonRandom(seed);
    deepStrictEqual(range(3).map(() => rng.nextUint32()), expected);
  }
});

Deno.test("PythonRandom() rejects unsafe number seeds and other types", () => {
  throws(() => new PythonRandom(2 ** 60), RangeError);
  throws(() => new PythonRandom(1.5), RangeError);
  throws(() => new PythonRandom("abc" as unknown as number), TypeError);
});

Deno.test("getrandbits() draws words least significant first beyond 32 bits", () => {
  // r = random.Random(5); r.getrandbits(40), r.getrandbits(53), r._randbelow(2**40+3)
  const rng = new PythonRandom(5);
  deepStrictEqual(rng.getrandbits(40), 281848216645);
  deepStrictEqual(rng.getrandbits(53), 3229401980715161);
  deepStrictEqual(rng.randbelow(2 ** 40 + 3), 549512532852);
});

Deno.test("getrandbits() returns 0 for k=0 and rejects k outside [0, 53]", () => {
  deepStrictEqual(new PythonRandom(0).getrandbits(0), 0);
  throws(() => new PythonRandom(0).getrandbits(54), RangeError);
  throws(() => new PythonRandom(0).getrandbits(-1), RangeError);
});

Deno.test("random() builds CPython's 53-bit float", () => {
  // r = random.Random(123); [r.random() for _ in range(3)]
  const rng = new PythonRandom(123);
  deepStrictEqual(
    range(3).map(() => rng.random()),
    [0.052363598850944326, 0.08718667752263232, 0.4072417636703983],
  );
});

Deno.test("randint() and choice() follow _randbelow", () => {
  // r = random.Random(123); [r.random() for _ in range(3)]; r.randint(-5, 5);
  // r.randint(0, 2**40); r.choice(list(range(1000)))
  const rng = new PythonRandom(123);
  range(3).forEach(() => rng.random());
  deepStrictEqual(rng.randint(-5, 5), -4);
  deepStrictEqual(rng.randint(0, 2 ** 40), 85361726607);
  deepStrictEqual(rng.choice(range(1000)), 388);
});

Deno.test("randbelow() rejects n < 1 and randint() rejects b < a", () => {
  throws(() => new PythonRandom(0).randbelow(0), RangeError);
  throws(() => new PythonRandom(0).randint(3, 2), RangeError);
});

Deno.test("choice() rejects an empty sequence", () => {
  throws(() => new PythonRandom(0).choice([]), RangeError);
});

Deno.test("sample() and shuffle() continue one stream like CPython", () => {
  // r = random.Random(7); r.sample(range(30), 10); r.sample(range(1000), 10);
  // x = list(range(50)); r.shuffle(x)
  const rng = new PythonRandom(7);
  deepStrictEqual(rng.sample(range(30), 10), [10, 4, 12, 20, 1, 2, 17, 3, 11, 18]);
  deepStrictEqual(rng.sample(range(1000), 10), [59, 931, 519, 219, 38, 88, 444, 428, 71, 246]);
  const x = range(50);
  rng.shuffle(x);
  deepStrictEqual(x, [
    10,
    30,
    1,
    15,
    12,
    29,
    24,
    22,
    19,
    32,
    44,
    16,
    34,
    0,
    38,
    33,
    23,
    11,
    6,
    20,
    26,
    47,
    49,
    21,
    28,
    9,
    31,
    48,
    17,
    4,
    13,
    18,
    8,
    2,
    43,
    39,
    25,
    41,
    45,
    46,
    37,
    42,
    40,
    14,
    7,
    36,
    3,
    27,
    35,
    5,
  ]);
});

Deno.test("sample() of zero elements and of an empty population returns []", () => {
  deepStrictEqual(new PythonRandom(0).sample([], 0), []);
  deepStrictEqual(new PythonRandom(0).sample([1, 2, 3], 0), []);
});

Deno.test("sample() rejects k larger than the population or negative", () => {
  throws(() => new PythonRandom(0).sample([1, 2], 3), RangeError);
  throws(() => new PythonRandom(0).sample([1, 2], -1), RangeError);
});

Deno.test("shuffle() leaves empty and single-element arrays unchanged", () => {
  const empty: number[] = [];
  new PythonRandom(0).shuffle(empty);
  deepStrictEqual(empty, []);
  const one = [42];
  new PythonRandom(0).shuffle(one);
  deepStrictEqual(one, [42]);
});
