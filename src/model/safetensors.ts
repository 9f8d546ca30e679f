/**
 * The safetensors file format: an 8-byte little-endian header length N, N bytes of JSON
 * (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, offsets relative
 * to the end of the header), then the tensor bytes. Reading parses only the header and fetches
 * one tensor's bytes at a time from the file; writing is atomic (temp file + rename).
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { CheckpointError } from "./errors.ts";

/** Floating dtypes a checkpoint's weights may use. */
export type SafetensorsDtype = "BF16" | "F16" | "F32";

/** Every dtype the format defines that this module reads and writes. */
export type SafetensorsStoredDtype =
  | SafetensorsDtype
  | "F64"
  | "I8"
  | "U8"
  | "I16"
  | "U16"
  | "I32"
  | "U32"
  | "I64"
  | "U64"
  | "BOOL";

/** Bytes per element of each dtype. */
export const DTYPE_SIZE_BYTES: Readonly<Record<SafetensorsStoredDtype, number>> = {
  BF16: 2,
  F16: 2,
  F32: 4,
  F64: 8,
  I8: 1,
  U8: 1,
  I16: 2,
  U16: 2,
  I32: 4,
  U32: 4,
  I64: 8,
  U64: 8,
  BOOL: 1,
};

/** A floating tensor of a checkpoint, located in its file. */
export interface TensorInfo {
  /** Hugging Face tensor name. */
  name: string;
  /** Stored dtype. */
  dtype: SafetensorsDtype;
  /** Dimensions, outermost first (linear weights are [out, in]). */
  shape: number[];
  /** Path of the safetensors file holding it. */
  file: string;
  /** Absolute byte offset of its first element in the file. */
  byteOffset: number;
  /** Byte length (product of shape × element size). */
  byteLength: number;
}

/** Any tensor of a safetensors file (integer dtypes included). */
export interface SafetensorsEntry {
  /** Tensor name. */
  name: string;
  /** Stored dtype. */
  dtype: SafetensorsStoredDtype;
  /** Dimensions, outermost first. */
  shape: number[];
  /** Path of the file. */
  file: string;
  /** Absolute byte offset in the file. */
  byteOffset: number;
  /** Byte length. */
  byteLength: number;
}

/** A parsed safetensors header. */
export interface SafetensorsHeader {
  /** The file it was read from (named in errors). */
  file: string;
  /** Offset of the data section (8 + header JSON length). */
  dataByteOffset: number;
  /** Tensors in header order. */
  entries: SafetensorsEntry[];
  /** The `__metadata__` string map ({} when absent). */
  metadata: Record<string, string>;
}

/** Refuse headers beyond this size: real ones are a few MB at most (the Rust reader uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

function isStoredDtype(v: unknown): v is SafetensorsStoredDtype {
  return typeof v === "string" && Object.hasOwn(DTYPE_SIZE_BYTES, v);
}

function bad(file: string, message: string): never {
  throw new CheckpointError("bad_header", `Invalid safetensors header in ${file}: ${message}`);
}

/**
 * Parses the header of a safetensors file from its first bytes.
 *
 * @param bytes At least the first 8 + N bytes of the file.
 * @param file The file's path, named in errors and stored in each entry.
 * @param fileSizeBytes The file's full size, to detect truncation (omit to skip that check).
 * @returns The header, entries in header order with absolute offsets.
 * @throws {CheckpointError} `bad_header` for malformed JSON or offsets, `unknown_dtype` for a
 *   dtype outside the format, `truncated` when the file is shorter than the header says.
 *
 * @example A one-tensor file
 * ```ts
 * import { parseSafetensorsHeader } from "./safetensors.ts";
 * const json = new TextEncoder().encode('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}');
 * const bytes = new Uint8Array(8 + json.length + 8);
 * new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
 * bytes.set(json, 8);
 * const header = parseSafetensorsHeader(bytes, "t.safetensors", bytes.length);
 * if (header.entries[0].byteOffset !== 8 + json.length) throw new Error();
 * ```
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  file: string,
  fileSizeBytes?: number,
): SafetensorsHeader {
  if (bytes.length < 8) {
    throw new CheckpointError(
      "truncated",
      `Truncated safetensors file ${file}: ${bytes.length} bytes, expected at least 8`,
    );
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) bad(file, `header length ${n} exceeds ${MAX_HEADER_BYTES}`);
  const headerLen = Number(n);
  if (bytes.length < 8 + headerLen) {
    throw new CheckpointError(
      "truncated",
      `Truncated safetensors file ${file}: header needs ${
        8 + headerLen
      } bytes, got ${bytes.length}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)),
    );
  } catch (cause) {
    throw new CheckpointError(
      "bad_header",
      `Invalid safetensors header in ${file}: not UTF-8 JSON (${(cause as Error).message})`,
      { cause },
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    bad(file, "expected a JSON object");
  }
  const dataByteOffset = 8 + headerLen;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  let dataEnd = 0;
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      // The format's metadata is an optional str → str map (null reads as absent, as in Rust).
      if (value === null) continue;
      if (
        typeof value !== "object" || Array.isArray(value) ||
        !Object.values(value).every((x) => typeof x === "string")
      ) {
        bad(
          file,
          `__metadata__ is ${
            JSON.stringify(value).slice(0, 80)
          }, expected a map of strings to strings`,
        );
      }
      metadata = value as Record<string, string>;
      continue;
    }
    const v = value as Record<string, unknown>;
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      bad(file, `entry ${name} is not an object`);
    }
    if (!isStoredDtype(v.dtype)) {
      throw new CheckpointError(
        "unknown_dtype",
        `Unknown dtype for tensor ${name} in ${file}: got ${JSON.stringify(v.dtype)}, ` +
          `expected one of ${Object.keys(DTYPE_SIZE_BYTES).join(", ")}`,
      );
    }
    const shape = v.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      bad(
        file,
        `tensor ${name} has shape ${JSON.stringify(shape)}, expected non-negative integers`,
      );
    }
    const offsets = v.data_offsets;
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[1] < offsets[0]
    ) {
      bad(
        file,
        `tensor ${name} has data_offsets ${JSON.stringify(offsets)}, expected [begin, end]`,
      );
    }
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const byteLength = offsets[1] - offsets[0];
    if (byteLength !== elements * DTYPE_SIZE_BYTES[v.dtype]) {
      bad(
        file,
        `tensor ${name} spans ${byteLength} bytes but ${v.dtype}${JSON.stringify(shape)} needs ` +
          `${elements * DTYPE_SIZE_BYTES[v.dtype]}`,
      );
    }
    dataEnd = Math.max(dataEnd, offsets[1]);
    entries.push({
      name,
      dtype: v.dtype,
      shape: shape as number[],
      file,
      byteOffset: dataByteOffset + offsets[0],
      byteLength,
    });
  }
  if (fileSizeBytes !== undefined && dataByteOffset + dataEnd > fileSizeBytes) {
    throw new CheckpointError(
      "truncated",
      `Truncated safetensors file ${file}: header needs ${dataByteOffset + dataEnd} bytes, ` +
        `file has ${fileSizeBytes}; download it again`,
    );
  }
  return { file, dataByteOffset, entries, metadata };
}

async function readExactly(f: Deno.FsFile, out: Uint8Array, file: string): Promise<void> {
  let done = 0;
  while (done < out.length) {
    const n = await f.read(out.subarray(done));
    if (n === null) {
      throw new CheckpointError(
        "truncated",
        `Truncated safetensors file ${file}: wanted ${out.length} bytes, file ended after ${done}`,
      );
    }
    done += n;
  }
}

async function openFile(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new CheckpointError("not_found", `Cannot open safetensors file ${path}: not found`, {
        cause,
      });
    }
    throw new CheckpointError("io", `Cannot open ${path}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads and parses the header of a safetensors file (only the header bytes are read).
 *
 * @param path The file.
 * @returns Its header.
 * @throws {CheckpointError} As {@link parseSafetensorsHeader}, or `not_found`/`io`.
 *
 * @example Reading back a written file
 * ```ts
 * import { readSafetensorsHeader, writeSafetensors } from "./safetensors.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSafetensors(`${dir}/a.safetensors`, [
 *   { name: "x", dtype: "F32", shape: [1], data: new Uint8Array(4) },
 * ]);
 * const header = await readSafetensorsHeader(`${dir}/a.safetensors`);
 * await Deno.remove(dir, { recursive: true });
 * if (header.entries[0].name !== "x") throw new Error();
 * ```
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const f = await openFile(path);
  try {
    const size = (await f.stat()).size;
    const prefix = new Uint8Array(Math.min(8, size));
    await readExactly(f, prefix, path);
    if (prefix.length < 8) return parseSafetensorsHeader(prefix, path, size);
    const n = new DataView(prefix.buffer).getBigUint64(0, true);
    if (n > BigInt(MAX_HEADER_BYTES)) bad(path, `header length ${n} exceeds ${MAX_HEADER_BYTES}`);
    if (8 + Number(n) > size) {
      throw new CheckpointError(
        "truncated",
        `Truncated safetensors file ${path}: header needs ${8 + Number(n)} bytes, file has ${size}`,
      );
    }
    const bytes = new Uint8Array(8 + Number(n));
    bytes.set(prefix);
    await readExactly(f, bytes.subarray(8), path);
    return parseSafetensorsHeader(bytes, path, size);
  } finally {
    f.close();
  }
}

/**
 * Reads one tensor's bytes from its file (nothing else is read).
 *
 * @param entry Where the tensor lies.
 * @returns A fresh buffer of `entry.byteLength` bytes.
 * @throws {CheckpointError} `truncated` if the file ends early, `not_found`/`io` otherwise.
 *
 * @example
 * ```ts
 * import { readSafetensorsHeader, readTensorBytes, writeSafetensors } from "./safetensors.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSafetensors(`${dir}/a.safetensors`, [
 *   { name: "x", dtype: "U8", shape: [3], data: new Uint8Array([7, 8, 9]) },
 * ]);
 * const [x] = (await readSafetensorsHeader(`${dir}/a.safetensors`)).entries;
 * const bytes = await readTensorBytes(x);
 * await Deno.remove(dir, { recursive: true });
 * if (bytes[2] !== 9) throw new Error();
 * ```
 */
export async function readTensorBytes(
  entry: Pick<SafetensorsEntry, "file" | "byteOffset" | "byteLength">,
): Promise<Uint8Array> {
  const f = await openFile(entry.file);
  try {
    await f.seek(entry.byteOffset, Deno.SeekMode.Start);
    const out = new Uint8Array(entry.byteLength);
    await readExactly(f, out, entry.file);
    return out;
  } finally {
    f.close();
  }
}

/**
 * Converts one IEEE half-precision bit pattern to a number (exact).
 *
 * @param h 16-bit pattern.
 * @returns Its value.
 *
 * @example
 * ```ts
 * import { f16BitsToNumber } from "./safetensors.ts";
 * if (f16BitsToNumber(0x3c00) !== 1 || f16BitsToNumber(0xc000) !== -2) throw new Error();
 * ```
 */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Widens stored little-endian BF16/F16/F32 bytes to float32 (exactly: every such value is a
 * float32).
 *
 * @param bytes Raw tensor bytes.
 * @param dtype Their dtype.
 * @returns The values.
 * @throws {RangeError} If the byte length is not a multiple of the element size.
 *
 * @example bf16 1.0 is 0x3f80
 * ```ts
 * import { widenToF32 } from "./safetensors.ts";
 * const out = widenToF32(new Uint8Array([0x80, 0x3f]), "BF16");
 * if (out[0] !== 1) throw new Error();
 * ```
 */
export function widenToF32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const size = DTYPE_SIZE_BYTES[dtype];
  if (bytes.length % size !== 0) {
    throw new RangeError(
      `Invalid ${dtype} data: ${bytes.length} bytes is not a multiple of ${size}`,
    );
  }
  const n = bytes.length / size;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "F32") {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  if (dtype === "BF16") {
    // bf16 is the top half of a float32: shift its bits into place.
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
    return new Float32Array(bits.buffer);
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f16BitsToNumber(view.getUint16(2 * i, true));
  return out;
}

/**
 * Rounds float32 values to bf16 (round to nearest, ties to even; NaN stays NaN), as torch's
 * `.to(torch.bfloat16)` does, giving little-endian bytes.
 *
 * @param values Float values (rounded to float32 first).
 * @returns 2 bytes per value.
 *
 * @example 1 + 2^-8 rounds to even (1.0); 1 + 3·2^-8 rounds up
 * ```ts
 * import { f32ToBf16Bytes, widenToF32 } from "./safetensors.ts";
 * const back = widenToF32(f32ToBf16Bytes(new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8])), "BF16");
 * if (back[0] !== 1 || back[1] !== 1 + 2 ** -6) throw new Error();
 * ```
 */
export function f32ToBf16Bytes(values: ArrayLike<number>): Uint8Array {
  const one = new Float32Array(1);
  const bits = new Uint32Array(one.buffer);
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    one[0] = values[i];
    const b = bits[0];
    let h: number;
    if ((b & 0x7fffffff) > 0x7f800000) h = (b >>> 16) | 0x40; // quiet NaN
    else h = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
    view.setUint16(2 * i, h, true);
  }
  return out;
}

/**
 * Rounds values to IEEE half precision (round to nearest, ties to even; overflow to ±Infinity,
 * subnormals kept), as torch's `.to(torch.float16)` does, giving little-endian bytes.
 *
 * @param values Float values (rounded to float32 first).
 * @returns 2 bytes per value.
 *
 * @example 65504 is the largest half; 2^-24 the smallest subnormal
 * ```ts
 * import { f32ToF16Bytes, widenToF32 } from "./safetensors.ts";
 * const back = widenToF32(f32ToF16Bytes([65504, 2 ** -24, 1 / 3]), "F16");
 * if (back[0] !== 65504 || back[1] !== 2 ** -24 || back[2] !== 0.333251953125) throw new Error();
 * ```
 */
export function f32ToF16Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    view.setUint16(2 * i, f16Bits(Math.fround(values[i])), true);
  }
  return out;
}

function f16Bits(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (Number.isNaN(x)) return 0x7e00;
  if (a >= 65520) return sign | 0x7c00; // rounds past the largest half (65504)
  if (a < 2 ** -14) {
    // Subnormal: a multiple of 2^-24, rounded to nearest even by the FPU-exact scaling.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  const exp = Math.floor(Math.log2(a));
  const e = a >= 2 ** (exp + 1) ? exp + 1 : a < 2 ** exp ? exp - 1 : exp; // guard log2 rounding
  const mant = roundHalfEven((a / 2 ** e - 1) * 1024);
  // A mantissa that rounds up to 1024 carries into the exponent.
  return mant === 1024 ? sign | ((e + 16) << 10) : sign | ((e + 15) << 10) | mant;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/**
 * Float32 values as little-endian bytes.
 *
 * @param values Float values.
 * @returns 4 bytes per value.
 *
 * @example
 * ```ts
 * import { f32Bytes, widenToF32 } from "./safetensors.ts";
 * if (widenToF32(f32Bytes([0.5]), "F32")[0] !== 0.5) throw new Error();
 * ```
 */
export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return out;
}

/** One tensor to write. */
export interface TensorToWrite {
  /** Tensor name (unique within the file). */
  name: string;
  /** Stored dtype. */
  dtype: SafetensorsStoredDtype;
  /** Dimensions. */
  shape: readonly number[];
  /**
   * Little-endian element bytes (product of shape × element size), or a function producing them
   * when the writer reaches this tensor, so a large checkpoint can be written one tensor at a
   * time without holding it all.
   */
  data: Uint8Array | (() => Uint8Array | Promise<Uint8Array>);
}

/**
 * Writes a safetensors file atomically: a temp file in the same folder, then a rename, so readers
 * see either the old file or the whole new one. Tensors are stored in the order given; the header
 * is padded with spaces to a multiple of 8 bytes, as the reference writer does. Lazy tensors
 * (`data` as a function) are produced in order, each written before the next is asked for.
 *
 * @param path Destination.
 * @param tensors The tensors.
 * @param metadata Optional `__metadata__` string map (e.g. `{ format: "pt" }`).
 * @returns Once the file is in place.
 * @throws {RangeError} For a duplicate name or data whose length does not match dtype × shape
 *   (a lazy tensor's mismatch aborts the write; the destination is left untouched).
 *
 * @example
 * ```ts
 * import { f32Bytes, readSafetensorsHeader, writeSafetensors } from "./safetensors.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSafetensors(`${dir}/m.safetensors`, [
 *   { name: "w", dtype: "F32", shape: [2, 1], data: f32Bytes([1, 2]) },
 * ], { format: "pt" });
 * const header = await readSafetensorsHeader(`${dir}/m.safetensors`);
 * await Deno.remove(dir, { recursive: true });
 * if (header.metadata.format !== "pt" || header.entries[0].shape[0] !== 2) throw new Error();
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (Object.hasOwn(header, t.name)) {
      throw new RangeError(`Invalid tensors: duplicate name ${JSON.stringify(t.name)}`);
    }
    const expected = byteLengthOf(t);
    if (typeof t.data !== "function") checkLength(t, t.data, expected);
    header[t.name] = {
      dtype: t.dtype,
      shape: [...t.shape],
      data_offsets: [offset, offset + expected],
    };
    offset += expected;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  const f = await Deno.open(tmp, { write: true, createNew: true });
  try {
    try {
      await writeAll(f, prefix);
      await writeAll(f, json);
      for (const t of tensors) {
        const data = typeof t.data === "function" ? await t.data() : t.data;
        checkLength(t, data, byteLengthOf(t));
        await writeAll(f, data);
      }
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (cause) {
    // The write already failed; a leftover temp file must not mask that error.
    await Deno.remove(tmp).catch(() => undefined);
    throw cause;
  }
}

function byteLengthOf(t: TensorToWrite): number {
  return t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE_BYTES[t.dtype];
}

function checkLength(t: TensorToWrite, data: Uint8Array, expected: number): void {
  if (data.length !== expected) {
    throw new RangeError(
      `Invalid data for tensor ${t.name}: ${data.length} bytes, ${t.dtype}${
        JSON.stringify(t.shape)
      } needs ${expected}`,
    );
  }
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await f.write(bytes.subarray(done));
}
