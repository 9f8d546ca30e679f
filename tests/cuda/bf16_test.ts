import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { bf16BitsToF32, f32ToBf16Bits } from "../../src/cuda/bf16.ts";

function fromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

Deno.test("f32ToBf16Bits() rounds to nearest, ties to even, on known bit patterns", () => {
  // Exact: patterns chosen at and around the halfway point of the dropped 16 bits.
  const input = fromBits([
    0x3f800000, // 1 → 0x3f80
    0x3f808000, // halfway, even below → 0x3f80
    0x3f818000, // halfway, odd below → 0x3f82
    0x3f808001, // above halfway → 0x3f81
    0x3f807fff, // below halfway → 0x3f80
    0x7f7fffff, // max f32 rounds up to +inf
    0x00000001, // smallest subnormal → +0
    0x80000000, // -0 stays -0
  ]);
  deepStrictEqual(
    [...f32ToBf16Bits(input)],
    [0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x3f80, 0x7f80, 0x0000, 0x8000],
  );
});

Deno.test("f32ToBf16Bits() keeps infinities and makes NaN a quiet NaN", () => {
  const bits = f32ToBf16Bits(fromBits([0x7f800000, 0xff800000, 0x7f800001, 0xffc00000]));
  deepStrictEqual([...bits], [0x7f80, 0xff80, 0x7fc0, 0xffc0]);
});

Deno.test("bf16BitsToF32() widens exactly", () => {
  const out = bf16BitsToF32(new Uint16Array([0x3f80, 0xbf80, 0x4049, 0x0001]));
  deepStrictEqual([...out.subarray(0, 3)], [1, -1, 3.140625]);
  strictEqual(new Uint32Array(out.buffer)[3], 0x00010000);
});

Deno.test("f32ToBf16Bits() of an empty array is empty", () => {
  strictEqual(f32ToBf16Bits(new Float32Array(0)).length, 0);
});
