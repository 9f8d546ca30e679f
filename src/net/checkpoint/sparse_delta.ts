/**
 * Computing and applying sparse deltas between two state dicts (infra spec §4.6): a delta
 * records, for every changed position, the NEW value, so applying it is assignment and the
 * result is bit-exact.
 *
 * @module
 */

import { PublishedCheckpointError } from "./published_checkpoint_error.ts";
import type { TensorDelta } from "./delta_codec.ts";
import { castTensor, numel, type StateDict, WEIGHT_DTYPE_BYTES } from "./state_dict.ts";

/** The statistics the reference writes into `delta_metadata.json`. */
export interface SparseDeltaStats {
  /** Elements of every tensor present in both state dicts. */
  totalParams: number;
  /** Elements whose value changed. */
  nonzeroParams: number;
  /** `1 − nonzero/total` (1 when total is 0). */
  sparsityRatio: number;
}

/** A computed delta: changed tensors and statistics. */
export interface SparseDelta {
  /** Changed tensors, in the current state dict's order (tensors without changes omitted). */
  tensors: TensorDelta[];
  /** Counts for `delta_metadata.json`. */
  stats: SparseDeltaStats;
}

function elements(bytes: Uint8Array, size: number): Uint16Array | Uint32Array {
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const n = aligned.length / size;
  return size === 2
    ? new Uint16Array(aligned.buffer, aligned.byteOffset, n)
    : new Uint32Array(aligned.buffer, aligned.byteOffset, n);
}

/**
 * Finds the changed positions of `current` against `base` and records the new values.
 *
 * Positions are compared bit for bit (in `current`'s dtype; a base of another dtype is cast
 * first). The reference compares float values, so it misses a change between +0 and −0 (and
 * treats every NaN as changed); ours records exactly the bits the hash covers.
 *
 * @param current The new weights.
 * @param base The weights the consumer already has.
 * @returns Changed tensors and statistics; tensors absent from `base` are skipped, as the
 *   reference does.
 * @throws {RangeError} A tensor whose shape differs between the two.
 *
 * @example
 * ```ts
 * import { computeSparseDelta } from "./sparse_delta.ts";
 * const t = (v: number[]) => ({ dtype: "F32" as const, shape: [v.length], data: new Uint8Array(new Float32Array(v).buffer) });
 * const d = computeSparseDelta(new Map([["w", t([1, 5, 3])]]), new Map([["w", t([1, 2, 3])]]));
 * if (d.tensors[0].positions[0] !== 1 || d.stats.nonzeroParams !== 1) throw new Error();
 * ```
 */
export function computeSparseDelta(current: StateDict, base: StateDict): SparseDelta {
  const tensors: TensorDelta[] = [];
  let total = 0;
  let changed = 0;
  for (const [name, cur] of current) {
    const b = base.get(name);
    if (b === undefined) continue;
    const n = numel(cur.shape);
    if (numel(b.shape) !== n || b.shape.join() !== cur.shape.join()) {
      throw new RangeError(`Tensor ${name} has shape [${cur.shape}], base has [${b.shape}]`);
    }
    total += n;
    const size = WEIGHT_DTYPE_BYTES[cur.dtype];
    const prev = castTensor(b, cur.dtype).data;
    const a = elements(cur.data, size);
    const p = elements(prev, size);
    const positions: number[] = [];
    for (let i = 0; i < n; i++) if (a[i] !== p[i]) positions.push(i);
    if (positions.length === 0) continue;
    changed += positions.length;
    const values = new Uint8Array(positions.length * size);
    positions.forEach((p, j) => values.set(cur.data.subarray(p * size, (p + 1) * size), j * size));
    tensors.push({
      name,
      shape: [...cur.shape],
      dtype: cur.dtype,
      positions: Float64Array.from(positions),
      values,
    });
  }
  return {
    tensors,
    stats: {
      totalParams: total,
      nonzeroParams: changed,
      sparsityRatio: total > 0 ? 1 - changed / total : 1,
    },
  };
}

/**
 * Applies a delta to a base state dict, as the reference's `apply_sparse_delta`: every tensor is
 * cast to the dtype of the base's FIRST tensor (bf16 in practice), listed positions are
 * overwritten with the delta's values (cast likewise), and shapes come from the delta.
 *
 * @param base The predecessor's weights (not modified).
 * @param deltas Changed tensors, e.g. from `decodeSparseDelta`.
 * @returns The new weights, in the base's order.
 * @throws {PublishedCheckpointError} `bad_delta` for a delta naming a tensor the base lacks or whose
 *   shape holds another number of elements.
 */
export function applySparseDelta(base: StateDict, deltas: readonly TensorDelta[]): StateDict {
  const first = base.values().next();
  const out: StateDict = new Map();
  if (first.done) {
    if (deltas.length > 0) {
      throw new PublishedCheckpointError(
        "bad_delta",
        `Delta changes ${deltas[0].name} of an empty base`,
      );
    }
    return out;
  }
  const dtype = first.value.dtype;
  const byName = new Map(deltas.map((d) => [d.name, d]));
  for (const d of deltas) {
    if (!base.has(d.name)) {
      throw new PublishedCheckpointError(
        "bad_delta",
        `Delta changes tensor ${d.name}, which the base checkpoint does not have`,
      );
    }
  }
  const size = WEIGHT_DTYPE_BYTES[dtype];
  for (const [name, b] of base) {
    const cast = castTensor(b, dtype);
    const d = byName.get(name);
    if (d === undefined) {
      out.set(name, cast);
      continue;
    }
    if (numel(d.shape) !== numel(b.shape)) {
      throw new PublishedCheckpointError(
        "bad_delta",
        `Delta shape [${d.shape}] of ${name} does not fit the base tensor of shape [${b.shape}]`,
      );
    }
    const data = cast === b ? b.data.slice() : cast.data;
    const values =
      castTensor({ dtype: d.dtype, shape: [d.positions.length], data: d.values }, dtype)
        .data;
    for (let j = 0; j < d.positions.length; j++) {
      data.set(values.subarray(j * size, (j + 1) * size), d.positions[j] * size);
    }
    out.set(name, { dtype, shape: [...d.shape], data });
  }
  return out;
}
