import { deepStrictEqual } from "node:assert/strict";
import { packRows } from "../../src/cuda/_rows.ts";

Deno.test("packRows() splits runs of one sequence into blocks of at most qb rows", () => {
  const rows = Array.from({ length: 5 }, (_, t) => ({ token: t, pos: t, kvRow: t, kvBase: 0 }));
  const p = packRows(rows, 2);
  deepStrictEqual([...p.tokens], [0, 1, 2, 3, 4]);
  deepStrictEqual([...p.meta], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  deepStrictEqual([...p.blocks], [0, 2, 0, 0, 2, 2, 0, 2, 4, 1, 0, 4]);
});

Deno.test("packRows() starts a new block at each sequence or position gap", () => {
  const rows = [
    { token: 1, pos: 0, kvRow: 0, kvBase: 0 },
    { token: 2, pos: 1, kvRow: 1, kvBase: 0 },
    { token: 3, pos: 0, kvRow: 10, kvBase: 10 },
    { token: 4, pos: 7, kvRow: 27, kvBase: 20 },
  ];
  deepStrictEqual([...packRows(rows, 16).blocks], [0, 2, 0, 0, 2, 1, 10, 0, 3, 1, 20, 7]);
});

Deno.test("packRows() of no rows is empty", () => {
  const p = packRows([], 16);
  deepStrictEqual([p.tokens.length, p.meta.length, p.blocks.length], [0, 0, 0]);
});
