/**
 * Row metadata of one pass: every token is a row (token, position, KV-cache row, KV row of its
 * sequence's position 0), and attention blocks are runs of at most QB consecutive rows of one
 * sequence at consecutive positions.
 */

import type { RowSpec } from "../model/batch_rows.ts";

export type { RowSpec };

/** The device-side arrays of a pass. */
export interface PackedRows {
  /** [n] token ids. */
  tokens: Int32Array<ArrayBuffer>;
  /** [n, 2] (pos, kvRow). */
  meta: Int32Array<ArrayBuffer>;
  /** [nBlocks, 4] (firstRow, count, kvBase, firstPos). */
  blocks: Int32Array<ArrayBuffer>;
}

/**
 * Packs rows into the arrays the kernels read.
 *
 * @param rows The pass's rows.
 * @param qb Queries per attention block.
 * @returns Tokens, metadata and attention blocks.
 */
export function packRows(rows: readonly RowSpec[], qb: number): PackedRows {
  const tokens = new Int32Array(rows.length);
  const meta = new Int32Array(rows.length * 2);
  const blocks: number[] = [];
  let open = -1;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    tokens[i] = r.token;
    meta[2 * i] = r.pos;
    meta[2 * i + 1] = r.kvRow;
    const b = open;
    if (
      b >= 0 && blocks[b + 1] < qb && blocks[b + 2] === r.kvBase &&
      blocks[b + 3] + blocks[b + 1] === r.pos && blocks[b] + blocks[b + 1] === i
    ) {
      blocks[b + 1]++;
    } else {
      open = blocks.length;
      blocks.push(i, 1, r.kvBase, r.pos);
    }
  }
  return { tokens, meta, blocks: Int32Array.from(blocks) };
}
