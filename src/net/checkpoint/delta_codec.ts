/**
 * The sparse delta codecs of `delta_sparse.bin.zst` (infra spec §4.6 "DELTA format"): formats
 * `sparse_codec_v2` (flat int32 index deltas), `sparse_codec_v3` (row/col int32 deltas) and
 * `sparse_codec_v3.1` (row/col deltas in the smallest unsigned type), each one zstd frame of
 *
 * ```
 * u32 LE header_len | header (compact JSON) | data section
 * header = {"version": 2|3|31, "tensors": [per-tensor meta, sorted by name]}
 * ```
 *
 * A delta holds the NEW values at changed positions (not differences). Every tensor is viewed as
 * 2-D: rows = shape[0] (1 for a scalar), cols = product of the other dimensions (1 for 1-D).
 * Decoding checks every size, offset and index against the header and the shape (the reference
 * checks none) and refuses anything inconsistent.
 *
 * @module
 */

import {
  pythonJsonDumps,
  type PythonJsonValue,
  sortCodePoints,
} from "../../protocol/python_json.ts";
import { zstdCompress, zstdDecompress } from "../_zstd.ts";
import { PublishedCheckpointError } from "./published_checkpoint_error.ts";
import { numel, WEIGHT_DTYPE_BYTES, type WeightDtype } from "./state_dict.ts";

/** Names of the formats, as in `delta_metadata.json` `format`. */
export type DeltaFormat = "sparse_codec_v2" | "sparse_codec_v3" | "sparse_codec_v3.1";

/** Header `version` of each format. */
export const DELTA_FORMAT_VERSION: Readonly<Record<DeltaFormat, number>> = {
  "sparse_codec_v2": 2,
  "sparse_codec_v3": 3,
  "sparse_codec_v3.1": 31,
};

/** The reference's zstd level for deltas. */
export const DELTA_ZSTD_LEVEL = 1;

/** The changed positions of one tensor and their new values. */
export interface TensorDelta {
  /** Tensor name. */
  name: string;
  /** The tensor's full shape. */
  shape: readonly number[];
  /** Element type of `values`. */
  dtype: WeightDtype;
  /** Flattened positions, strictly ascending. */
  positions: Float64Array;
  /** New values at `positions`, raw little-endian bytes in `dtype`. */
  values: Uint8Array;
}

const VALUE_DTYPE_NAME: Readonly<Record<WeightDtype, string>> = {
  BF16: "bfloat16",
  F16: "float16",
  F32: "float32",
};

type IndexDtype = "uint8" | "uint16" | "int32";
const INDEX_BYTES: Readonly<Record<IndexDtype, number>> = { uint8: 1, uint16: 2, int32: 4 };
const INT32_MAX = 2 ** 31 - 1;

function colsOf(shape: readonly number[]): number {
  return shape.length <= 1 ? 1 : Math.max(1, numel(shape.slice(1)));
}

function bad(message: string): PublishedCheckpointError {
  return new PublishedCheckpointError("bad_delta", `Invalid sparse delta: ${message}`);
}

function writeIndices(values: ArrayLike<number>, dtype: IndexDtype): Uint8Array {
  const out = new Uint8Array(values.length * INDEX_BYTES[dtype]);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (dtype === "uint8") out[i] = values[i];
    else if (dtype === "uint16") view.setUint16(2 * i, values[i], true);
    else view.setInt32(4 * i, values[i], true);
  }
  return out;
}

// v3.1's `_select_index_dtype`: uint8 (rows only) if max ≤ 255, else uint16 if ≤ 65535, else int32.
function pickIndexDtype(values: Int32Array, preferUint8: boolean): IndexDtype {
  if (values.length === 0) return "uint8";
  let max = 0;
  let min = 0;
  for (const v of values) {
    if (v > max) max = v;
    if (v < min) min = v;
  }
  if (min < 0) return "int32";
  if (preferUint8 && max <= 0xff) return "uint8";
  if (max <= 0xffff) return "uint16";
  return "int32";
}

function checkTensorDelta(t: TensorDelta): void {
  const n = numel(t.shape);
  const size = WEIGHT_DTYPE_BYTES[t.dtype];
  if (t.values.length !== t.positions.length * size) {
    throw new RangeError(
      `Delta of ${t.name}: ${t.values.length} value bytes for ${t.positions.length} ` +
        `${t.dtype} positions, expected ${t.positions.length * size}`,
    );
  }
  for (let i = 0; i < t.positions.length; i++) {
    const p = t.positions[i];
    if (!Number.isInteger(p) || p < 0 || p >= n || (i > 0 && p <= t.positions[i - 1])) {
      throw new RangeError(
        `Delta of ${t.name}: position ${p} at ${i} must be ascending integers in [0, ${n})`,
      );
    }
  }
}

/**
 * Builds the uncompressed payload (header length, header JSON, data) of a delta, exactly as the
 * reference's `encode_sparse_delta_v2` / `_v3` / `_v3_1` do before zstd.
 *
 * @param deltas Changed tensors (any order; sorted by name here; empty ones skipped).
 * @param format Codec.
 * @returns The payload bytes.
 * @throws {RangeError} Inconsistent positions/values, or a v2 flat index beyond int32.
 *
 * @example An empty delta is header-only
 * ```ts
 * import { encodeDeltaPayload } from "./delta_codec.ts";
 * const bytes = encodeDeltaPayload([], "sparse_codec_v2");
 * const text = new TextDecoder().decode(bytes.subarray(4));
 * if (text !== '{"version":2,"tensors":[]}') throw new Error(text);
 * ```
 */
export function encodeDeltaPayload(
  deltas: readonly TensorDelta[],
  format: DeltaFormat,
): Uint8Array {
  const version = Object.hasOwn(DELTA_FORMAT_VERSION, format)
    ? DELTA_FORMAT_VERSION[format]
    : undefined;
  if (version === undefined) throw new RangeError(`Unknown delta format ${format}`);
  const byName = new Map(deltas.map((d) => [d.name, d]));
  if (byName.size !== deltas.length) throw new RangeError("Delta names must be unique");
  const metas: PythonJsonValue[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of sortCodePoints(byName.keys())) {
    const d = byName.get(name)!;
    checkTensorDelta(d);
    if (d.positions.length === 0) continue;
    const nnz = d.positions.length;
    const head = {
      name,
      shape: [...d.shape],
      num_nonzero: nnz,
      value_dtype: VALUE_DTYPE_NAME[d.dtype],
    };
    if (version === 2) {
      const deltasFlat = new Int32Array(nnz);
      for (let i = 0; i < nnz; i++) {
        if (d.positions[i] > INT32_MAX) {
          throw new RangeError(`Flat indices of ${name} exceed int32 range for v2 encoding`);
        }
        deltasFlat[i] = d.positions[i] - (i === 0 ? 0 : d.positions[i - 1]);
      }
      const idx = writeIndices(deltasFlat, "int32");
      metas.push({
        ...head,
        indices_offset: offset,
        indices_size: idx.length,
        values_offset: offset + idx.length,
        values_size: d.values.length,
      });
      chunks.push(idx, d.values);
      offset += idx.length + d.values.length;
      continue;
    }
    const cols = colsOf(d.shape);
    const rowDelta = new Int32Array(nnz);
    const colDelta = new Int32Array(nnz);
    let prevRow = 0;
    let prevCol = 0;
    for (let i = 0; i < nnz; i++) {
      const row = Math.floor(d.positions[i] / cols);
      const col = d.positions[i] - row * cols;
      rowDelta[i] = row - prevRow;
      // Column delta restarts (absolute column) at the first entry and at every new row.
      colDelta[i] = i === 0 || rowDelta[i] !== 0 ? col : col - prevCol;
      prevRow = row;
      prevCol = col;
    }
    const rowDtype: IndexDtype = version === 31 ? pickIndexDtype(rowDelta, true) : "int32";
    const colDtype: IndexDtype = version === 31 ? pickIndexDtype(colDelta, false) : "int32";
    const rows = writeIndices(rowDelta, rowDtype);
    const colsBytes = writeIndices(colDelta, colDtype);
    const indicesSize = rows.length + colsBytes.length;
    metas.push({
      ...head,
      ...(version === 31 ? { row_dtype: rowDtype, col_dtype: colDtype } : {}),
      indices_offset: offset,
      indices_size: indicesSize,
      rows_size: rows.length,
      cols_size: colsBytes.length,
      values_offset: offset + indicesSize,
      values_size: d.values.length,
    });
    chunks.push(rows, colsBytes, d.values);
    offset += indicesSize + d.values.length;
  }
  const header = new TextEncoder().encode(
    pythonJsonDumps({ version, tensors: metas }, { separators: [",", ":"] }),
  );
  const out = new Uint8Array(4 + header.length + offset);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  let at = 4 + header.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Encodes a delta file (`delta_sparse.bin.zst`): the payload of {@link encodeDeltaPayload} in
 * one zstd frame at level 1.
 *
 * @param deltas Changed tensors.
 * @param format Codec; the reference's code default is v3.1.
 * @returns The file bytes.
 * @throws {RangeError} See {@link encodeDeltaPayload}.
 */
export async function encodeSparseDelta(
  deltas: readonly TensorDelta[],
  format: DeltaFormat,
): Promise<Uint8Array> {
  return await zstdCompress(encodeDeltaPayload(deltas, format), DELTA_ZSTD_LEVEL);
}

function field(meta: Record<string, unknown>, key: string, i: number): unknown {
  if (!(key in meta)) throw bad(`tensors[${i}] has no ${key}`);
  return meta[key];
}

function intField(meta: Record<string, unknown>, key: string, i: number): number {
  const v = field(meta, key, i);
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw bad(`tensors[${i}].${key} = ${JSON.stringify(v)}, expected a non-negative integer`);
  }
  return v as number;
}

function readIndices(bytes: Uint8Array, dtype: IndexDtype, what: string): Int32Array {
  const size = INDEX_BYTES[dtype];
  if (bytes.length % size !== 0) {
    throw bad(`${what}: ${bytes.length} bytes is not a whole ${dtype}`);
  }
  const n = bytes.length / size;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = dtype === "uint8"
      ? bytes[i]
      : dtype === "uint16"
      ? view.getUint16(2 * i, true)
      : view.getInt32(4 * i, true);
  }
  return out;
}

const DTYPE_BY_NAME: Readonly<Record<string, WeightDtype>> = {
  bfloat16: "BF16",
  float16: "F16",
  float32: "F32",
};

/**
 * Decodes an uncompressed delta payload, checking it completely.
 *
 * @param payload Header length, header, data.
 * @param format The format `delta_metadata.json` announces; the header's version must match.
 * @returns The changed tensors in header order, positions ascending.
 * @throws {PublishedCheckpointError} `unsupported_format` for a version mismatch or unknown version;
 *   `bad_delta` for any inconsistency (sizes, offsets, dtypes, indices out of the shape, repeated
 *   or unsorted positions, overlapping sections).
 */
export function decodeDeltaPayload(payload: Uint8Array, format: DeltaFormat): TensorDelta[] {
  const expected = Object.hasOwn(DELTA_FORMAT_VERSION, format)
    ? DELTA_FORMAT_VERSION[format]
    : undefined;
  if (expected === undefined) {
    throw new PublishedCheckpointError("unsupported_format", `Unknown delta format ${format}`);
  }
  if (payload.length < 4) throw bad(`payload of ${payload.length} bytes has no header length`);
  const headerLen = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true);
  if (payload.length < 4 + headerLen) {
    throw bad(`header needs ${headerLen} bytes, payload has ${payload.length - 4}`);
  }
  let header: { version?: unknown; tensors?: unknown };
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      payload.subarray(4, 4 + headerLen),
    ));
  } catch (cause) {
    throw new PublishedCheckpointError(
      "bad_delta",
      "Invalid sparse delta: header is not UTF-8 JSON",
      {
        cause,
      },
    );
  }
  if (header.version !== expected) {
    throw new PublishedCheckpointError(
      "unsupported_format",
      `Sparse delta header version ${JSON.stringify(header.version)} does not match format ` +
        `${format} (version ${expected})`,
    );
  }
  if (!Array.isArray(header.tensors)) throw bad("header.tensors is not a list");
  const data = payload.subarray(4 + headerLen);
  const section = (off: number, size: number, what: string) => {
    if (off + size > data.length) {
      throw bad(`${what} [${off}, ${off + size}) lies beyond the data (${data.length} bytes)`);
    }
    return data.subarray(off, off + size);
  };
  const seen = new Set<string>();
  return header.tensors.map((raw: unknown, i: number): TensorDelta => {
    if (typeof raw !== "object" || raw === null) throw bad(`tensors[${i}] is not an object`);
    const meta = raw as Record<string, unknown>;
    const name = field(meta, "name", i);
    if (typeof name !== "string" || seen.has(name)) {
      throw bad(`tensors[${i}].name ${JSON.stringify(name)} is not a new string`);
    }
    seen.add(name);
    const shape = field(meta, "shape", i);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`${name}: shape ${JSON.stringify(shape)} is not a list of dimensions`);
    }
    const dtypeName = String(field(meta, "value_dtype", i));
    const dtype = Object.hasOwn(DTYPE_BY_NAME, dtypeName) ? DTYPE_BY_NAME[dtypeName] : undefined;
    if (dtype === undefined) {
      throw bad(`${name}: value_dtype ${JSON.stringify(meta.value_dtype)} is not bf16/f16/f32`);
    }
    const nnz = intField(meta, "num_nonzero", i);
    const n = numel(shape);
    const values = section(
      intField(meta, "values_offset", i),
      intField(meta, "values_size", i),
      `${name} values`,
    );
    if (values.length !== nnz * WEIGHT_DTYPE_BYTES[dtype]) {
      throw bad(`${name}: ${values.length} value bytes for ${nnz} ${dtype} values`);
    }
    const indicesOffset = intField(meta, "indices_offset", i);
    const indicesSize = intField(meta, "indices_size", i);
    const positions = new Float64Array(nnz);
    if (expected === 2) {
      const deltas = readIndices(
        section(indicesOffset, indicesSize, `${name} indices`),
        "int32",
        name,
      );
      if (deltas.length !== nnz) throw bad(`${name}: ${deltas.length} indices for ${nnz} values`);
      let p = 0;
      for (let k = 0; k < nnz; k++) {
        p += deltas[k];
        positions[k] = p;
      }
    } else {
      const rowsSize = intField(meta, "rows_size", i);
      const colsSize = intField(meta, "cols_size", i);
      if (rowsSize + colsSize !== indicesSize) {
        throw bad(`${name}: rows_size ${rowsSize} + cols_size ${colsSize} ≠ ${indicesSize}`);
      }
      const rowDtype = (expected === 31 ? meta.row_dtype ?? "int32" : "int32") as IndexDtype;
      const colDtype = (expected === 31 ? meta.col_dtype ?? "int32" : "int32") as IndexDtype;
      // Own keys only: "constructor" or "toString" are not index dtypes.
      if (!Object.hasOwn(INDEX_BYTES, rowDtype) || !Object.hasOwn(INDEX_BYTES, colDtype)) {
        throw bad(`${name}: index dtypes ${rowDtype}/${colDtype} are not uint8/uint16/int32`);
      }
      const rowD = readIndices(section(indicesOffset, rowsSize, `${name} rows`), rowDtype, name);
      const colD = readIndices(
        section(indicesOffset + rowsSize, colsSize, `${name} cols`),
        colDtype,
        name,
      );
      if (rowD.length !== nnz || colD.length !== nnz) {
        throw bad(`${name}: ${rowD.length} rows and ${colD.length} cols for ${nnz} values`);
      }
      const cols = colsOf(shape);
      let row = 0;
      let col = 0;
      for (let k = 0; k < nnz; k++) {
        row += rowD[k];
        col = k === 0 || rowD[k] !== 0 ? colD[k] : col + colD[k];
        if (col < 0 || col >= cols) {
          throw bad(`${name}: column ${col} at ${k} outside [0, ${cols})`);
        }
        positions[k] = row * cols + col;
      }
    }
    for (let k = 0; k < nnz; k++) {
      const p = positions[k];
      if (p < 0 || p >= n || (k > 0 && p <= positions[k - 1])) {
        throw bad(`${name}: position ${p} at ${k} is out of [0, ${n}) or not ascending`);
      }
    }
    return { name, shape, dtype, positions, values: values.slice() };
  });
}

/**
 * Decodes a delta file (`delta_sparse.bin.zst`).
 *
 * @param file The file's bytes (one zstd frame).
 * @param format The format `delta_metadata.json` announces.
 * @returns The changed tensors.
 * @throws {PublishedCheckpointError} `bad_delta` for bytes that are not zstd or a bad payload;
 *   `unsupported_format` for a version mismatch.
 */
export function decodeSparseDelta(file: Uint8Array, format: DeltaFormat): TensorDelta[] {
  let payload: Uint8Array;
  try {
    payload = zstdDecompress(file);
  } catch (cause) {
    throw new PublishedCheckpointError(
      "bad_delta",
      `Invalid sparse delta: ${file.length} bytes are not a zstd frame (${cause})`,
      { cause },
    );
  }
  return decodeDeltaPayload(payload, format);
}
