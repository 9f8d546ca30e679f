import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  checkWindowFileStructure,
  type StructureRow,
} from "../../src/validation/file_structure_check.ts";

const HASH = "0x" + "ab".repeat(32);
const expected = { hotkey: "5Miner", window: 3600, windowHash: HASH };

function rows(groups: number, perGroup = 16): StructureRow[] {
  const out: StructureRow[] = [];
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < perGroup; i++) {
      out.push({ rollout_group: g, window_start: 3600, block_hash: HASH, nonce: g * 16 + i });
    }
  }
  return out;
}

Deno.test("checkWindowFileStructure() accepts an honest file of two groups", () => {
  deepStrictEqual(
    checkWindowFileStructure({ wallet: "5Miner", windowStart: 3600, rows: rows(2) }, expected),
    {
      ok: true,
    },
  );
});

Deno.test("checkWindowFileStructure() accepts an empty file", () => {
  strictEqual(
    checkWindowFileStructure({ wallet: "5Miner", windowStart: 3600, rows: [] }, expected).ok,
    true,
  );
});

Deno.test("checkWindowFileStructure() rejects a file of another window", () => {
  strictEqual(
    checkWindowFileStructure({ wallet: "5Miner", windowStart: 3630, rows: [] }, expected).reason,
    "window_mismatch",
  );
});

Deno.test("checkWindowFileStructure() rejects a duplicate nonce and names the row", () => {
  const r = rows(1);
  r[5] = { ...r[5], nonce: 0 };
  deepStrictEqual(
    checkWindowFileStructure({ wallet: "5Miner", windowStart: 3600, rows: r }, expected),
    {
      ok: false,
      reason: "duplicate_nonce",
      row: 5,
    },
  );
});

Deno.test("checkWindowFileStructure() rejects a row with another block hash", () => {
  const r = rows(1);
  r[3] = { ...r[3], block_hash: HASH.toUpperCase() };
  strictEqual(
    checkWindowFileStructure({ wallet: "5Miner", windowStart: 3600, rows: r }, expected).reason,
    "block_hash_mismatch",
  );
});

Deno.test("checkWindowFileStructure() rejects a null rollout_group", () => {
  const r = rows(1);
  r[0] = { ...r[0], rollout_group: null };
  strictEqual(
    checkWindowFileStructure({ wallet: "5Miner", windowStart: 3600, rows: r }, expected).reason,
    "null_rollout_group",
  );
});

Deno.test("checkWindowFileStructure() rejects a group of 15", () => {
  strictEqual(
    checkWindowFileStructure({ wallet: "5Miner", windowStart: 3600, rows: rows(1, 15) }, expected)
      .reason,
    "invalid_group_size",
  );
});

Deno.test("checkWindowFileStructure() accepts bigint window starts from a Parquet int64 column", () => {
  const r = rows(1).map((x) => ({ ...x, window_start: 3600n }));
  strictEqual(
    checkWindowFileStructure({ wallet: "5Miner", windowStart: 3600n, rows: r }, expected).ok,
    true,
  );
});
