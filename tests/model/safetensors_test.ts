import { deepStrictEqual, ok as assert, rejects, strictEqual, throws } from "node:assert/strict";
import { CheckpointError } from "../../src/model/errors.ts";
import {
  f16BitsToNumber,
  f32Bytes,
  f32ToBf16Bytes,
  f32ToF16Bytes,
  parseSafetensorsHeader,
  readSafetensorsHeader,
  readTensorBytes,
  widenToF32,
  writeSafetensors,
} from "../../src/model/safetensors.ts";
import { SHARED } from "./_golden.ts";

function isCheckpointError(code: string, ...mentions: string[]): (e: unknown) => boolean {
  return (e) =>
    e instanceof CheckpointError && e.code === code && mentions.every((m) => e.message.includes(m));
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A file with the given header JSON and data bytes, framed as safetensors. */
function frame(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("readSafetensorsHeader() reads a file written by Python safetensors (HF fixture)", async () => {
  const h = await readSafetensorsHeader(`${SHARED}fixtures/qwen3-tiny/model.safetensors`);
  deepStrictEqual(h.metadata, { format: "pt" });
  const embed = h.entries.find((e) => e.name === "model.embed_tokens.weight")!;
  deepStrictEqual([embed.dtype, embed.shape, embed.byteLength], [
    "BF16",
    [2048, 128],
    2048 * 128 * 2,
  ]);
  strictEqual(embed.byteOffset, h.dataByteOffset);
});

Deno.test("readTensorBytes() reads one tensor of the golden file at its offset", async () => {
  const h = await readSafetensorsHeader(`${SHARED}fixtures/qwen3-tiny/golden.safetensors`);
  const ids = h.entries.find((e) => e.name === "seq0.input_ids")!;
  const bytes = await readTensorBytes(ids);
  const first = new Int32Array(bytes.buffer, 0, 3);
  // The fixture's golden.json and seq0 logits are for these tokens (first three of seq0).
  deepStrictEqual([...first], [1331, 696, 788]);
});

Deno.test("writeSafetensors() round-trips BF16, F16, F32 and I32 tensors", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/t.safetensors`;
    await writeSafetensors(path, [
      { name: "a", dtype: "BF16", shape: [3], data: f32ToBf16Bytes([1, -2.5, 0.15625]) },
      { name: "b", dtype: "F16", shape: [2], data: new Uint8Array([0x00, 0x3c, 0x00, 0xc0]) },
      { name: "c", dtype: "F32", shape: [1, 2], data: f32Bytes([0.1, 7]) },
      { name: "d", dtype: "I32", shape: [1], data: new Uint8Array([5, 0, 0, 0]) },
    ]);
    const h = await readSafetensorsHeader(path);
    const get = async (n: string) => {
      const e = h.entries.find((x) => x.name === n)!;
      return { e, bytes: await readTensorBytes(e) };
    };
    const a = await get("a");
    deepStrictEqual([...widenToF32(a.bytes, "BF16")], [1, -2.5, 0.15625]);
    deepStrictEqual([...widenToF32((await get("b")).bytes, "F16")], [1, -2]);
    deepStrictEqual([...widenToF32((await get("c")).bytes, "F32")], [Math.fround(0.1), 7]);
    deepStrictEqual([...(await get("d")).bytes], [5, 0, 0, 0]);
    strictEqual(h.dataByteOffset % 8, 0); // header padded as the reference writer pads it
  });
});

Deno.test("writeSafetensors() replaces a file atomically and leaves no temp file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/m.safetensors`;
    await writeSafetensors(path, [{
      name: "x",
      dtype: "U8",
      shape: [1],
      data: new Uint8Array([1]),
    }]);
    await writeSafetensors(path, [{
      name: "y",
      dtype: "U8",
      shape: [2],
      data: new Uint8Array([2, 3]),
    }]);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    deepStrictEqual(names, ["m.safetensors"]);
    deepStrictEqual((await readSafetensorsHeader(path)).entries.map((e) => e.name), ["y"]);
  });
});

Deno.test("writeSafetensors() rejects data that does not match the shape", async () => {
  await withTempDir(async (dir) => {
    await rejects(
      () =>
        writeSafetensors(`${dir}/x`, [{
          name: "w",
          dtype: "F32",
          shape: [2],
          data: new Uint8Array(4),
        }]),
      (e: unknown) => e instanceof RangeError && e.message.includes("w"),
    );
  });
});

Deno.test("readSafetensorsHeader() reports a truncated file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/t.safetensors`;
    await writeSafetensors(path, [{
      name: "w",
      dtype: "F32",
      shape: [64],
      data: new Uint8Array(256),
    }]);
    const full = await Deno.readFile(path);
    await Deno.writeFile(path, full.subarray(0, full.length - 10));
    await rejects(() => readSafetensorsHeader(path), isCheckpointError("truncated", path));
  });
});

Deno.test("parseSafetensorsHeader() rejects an unknown dtype naming the tensor", () => {
  const bytes = frame(
    { w: { dtype: "F8_E4M3", shape: [2], data_offsets: [0, 2] } },
    new Uint8Array(2),
  );
  throws(
    () => parseSafetensorsHeader(bytes, "f.safetensors"),
    isCheckpointError("unknown_dtype", "w", "F8_E4M3"),
  );
});

Deno.test("parseSafetensorsHeader() rejects offsets that disagree with the shape", () => {
  const bytes = frame({ w: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4));
  throws(
    () => parseSafetensorsHeader(bytes, "f.safetensors"),
    isCheckpointError("bad_header", "w"),
  );
});

Deno.test("parseSafetensorsHeader() rejects __metadata__ that is not a string map", () => {
  const bytes = frame({ __metadata__: { format: 5 } }, new Uint8Array(0));
  throws(
    () => parseSafetensorsHeader(bytes, "f.safetensors"),
    isCheckpointError("bad_header", "__metadata__", '{"format":5}'),
  );
});

Deno.test("parseSafetensorsHeader() reads a null __metadata__ as absent", () => {
  const bytes = frame({ __metadata__: null }, new Uint8Array(0));
  deepStrictEqual(parseSafetensorsHeader(bytes, "f.safetensors").metadata, {});
});

Deno.test("parseSafetensorsHeader() rejects a tensor entry that is an array", () => {
  const bytes = frame({ w: [1] }, new Uint8Array(0));
  throws(
    () => parseSafetensorsHeader(bytes, "f.safetensors"),
    isCheckpointError("bad_header", "entry w is not an object"),
  );
});

Deno.test("parseSafetensorsHeader() rejects a header that is not JSON", () => {
  const bytes = new Uint8Array(12);
  new DataView(bytes.buffer).setBigUint64(0, 4n, true);
  bytes.set([0x7b, 0x7b, 0x7b, 0x7b], 8);
  throws(
    () => parseSafetensorsHeader(bytes, "f.safetensors"),
    isCheckpointError("bad_header", "f.safetensors"),
  );
});

Deno.test("parseSafetensorsHeader() rejects a file shorter than 8 bytes", () => {
  throws(() => parseSafetensorsHeader(new Uint8Array(3), "f"), isCheckpointError("truncated"));
});

Deno.test("f16BitsToNumber() decodes normals, subnormals and infinities exactly", () => {
  strictEqual(f16BitsToNumber(0x7bff), 65504);
  strictEqual(f16BitsToNumber(0x0001), 2 ** -24);
  strictEqual(f16BitsToNumber(0xfc00), -Infinity);
  assert(Number.isNaN(f16BitsToNumber(0x7e00)));
});

Deno.test("f32ToBf16Bytes() rounds to nearest even as torch does", () => {
  // bf16 keeps 7 fraction bits: near 1 the spacing is 2^-7.
  const back = widenToF32(
    f32ToBf16Bytes([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -0]),
    "BF16",
  );
  deepStrictEqual([...back], [1, 1 + 2 ** -6, 1 + 2 ** -7, -0]);
});

Deno.test("widenToF32() rejects a byte length that is not a whole number of elements", () => {
  throws(() => widenToF32(new Uint8Array(3), "BF16"), RangeError);
});

Deno.test("f32ToF16Bytes() round-trips every finite half exactly", () => {
  const bits = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((h) =>
    (h & 0x7c00) !== 0x7c00
  );
  const values = Array.from(bits, f16BitsToNumber);
  const back = new Uint16Array(f32ToF16Bytes(values).buffer);
  for (let i = 0; i < bits.length; i++) {
    // ±0 keep their sign; every other half maps to itself.
    if (back[i] !== bits[i]) {
      throw new Error(`0x${bits[i].toString(16)} -> 0x${back[i].toString(16)}`);
    }
  }
});

Deno.test("f32ToF16Bytes() rounds midpoints to the even neighbour and overflows to infinity", () => {
  // Between 1 and 1 + 2^-10 the midpoint goes to 1 (even); between 1 + 2^-10 and 1 + 2^-9 up.
  const out = new Uint16Array(
    f32ToF16Bytes([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65519, 65520, -1e9]).buffer,
  );
  deepStrictEqual([...out], [0x3c00, 0x3c02, 0x7bff, 0x7c00, 0xfc00]);
});

Deno.test("writeSafetensors() asks lazy tensors for their bytes in order, one at a time", async () => {
  await withTempDir(async (dir) => {
    const asked: string[] = [];
    const lazy = (name: string, byte: number) => () => {
      asked.push(name);
      return Promise.resolve(new Uint8Array([byte, byte]));
    };
    await writeSafetensors(`${dir}/l.safetensors`, [
      { name: "a", dtype: "U8", shape: [2], data: lazy("a", 1) },
      { name: "b", dtype: "U8", shape: [2], data: new Uint8Array([2, 2]) },
      { name: "c", dtype: "U8", shape: [2], data: lazy("c", 3) },
    ]);
    deepStrictEqual(asked, ["a", "c"]);
    const h = await readSafetensorsHeader(`${dir}/l.safetensors`);
    deepStrictEqual([...(await readTensorBytes(h.entries[2]))], [3, 3]);
  });
});

Deno.test("writeSafetensors() aborts on a lazy tensor of the wrong length and keeps the old file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/m.safetensors`;
    await writeSafetensors(path, [{
      name: "old",
      dtype: "U8",
      shape: [1],
      data: new Uint8Array([9]),
    }]);
    await rejects(
      () =>
        writeSafetensors(path, [{
          name: "w",
          dtype: "F32",
          shape: [2],
          data: () => new Uint8Array(4),
        }]),
      (e: unknown) => e instanceof RangeError && e.message.includes("w"),
    );
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    deepStrictEqual(names, ["m.safetensors"]);
    deepStrictEqual((await readSafetensorsHeader(path)).entries.map((e) => e.name), ["old"]);
  });
});
