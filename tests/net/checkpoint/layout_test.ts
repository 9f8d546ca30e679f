// Expected values worked out by hand from infra spec §4.6 "Discovery" and §4.2 (key layout).
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  checkpointInventory,
  checkpointPrefix,
  checkpointTypePrefix,
  findCheckpointForWindow,
  parseReadyKey,
  readyKey,
} from "../../../src/net/checkpoint/layout.ts";

const P = "grail/checkpoints/";

Deno.test("checkpointTypePrefix() names FULL and DELTA folders", () => {
  strictEqual(checkpointTypePrefix(7200, "FULL"), `${P}checkpoint-7200/FULL/`);
  strictEqual(checkpointTypePrefix(7200, "DELTA"), `${P}checkpoint-7200/DELTA/`);
});

Deno.test("checkpointPrefix() refuses a negative window", () => {
  throws(() => checkpointPrefix(-30), RangeError);
});

Deno.test("readyKey() and parseReadyKey() agree", () => {
  deepStrictEqual(parseReadyKey(readyKey(300, 331)), { window: 300, readyWindow: 331 });
});

Deno.test("parseReadyKey() ignores keys that are not markers", () => {
  for (
    const key of [
      `${P}checkpoint-300/FULL/config.json`,
      `${P}checkpoint-x/READY-30`,
      `${P}checkpoint-300/READY-`,
      `${P}READY-30`,
    ]
  ) strictEqual(parseReadyKey(key), null, key);
});

Deno.test("findCheckpointForWindow() takes the largest ready window below the target", () => {
  const keys = [
    `${P}checkpoint-7140/READY-7170`,
    `${P}checkpoint-7170/READY-7199`, // finished during window 7170: usable from 7200 on
    `${P}checkpoint-7170/FULL/model.safetensors`,
    `${P}checkpoint-7200/READY-7230`,
  ];
  deepStrictEqual(findCheckpointForWindow(keys, 7200), { window: 7170, readyWindow: 7199 });
  deepStrictEqual(findCheckpointForWindow(keys, 7199), { window: 7140, readyWindow: 7170 });
});

Deno.test("findCheckpointForWindow() breaks ready-window ties by the larger checkpoint", () => {
  const keys = [`${P}checkpoint-30/READY-90`, `${P}checkpoint-60/READY-90`];
  deepStrictEqual(findCheckpointForWindow(keys, 120), { window: 60, readyWindow: 90 });
});

Deno.test("findCheckpointForWindow() finds nothing without a READY marker", () => {
  strictEqual(findCheckpointForWindow([`${P}checkpoint-30/FULL/FULL`], 1000), null);
});

Deno.test("checkpointInventory() counts a window with a DELTA folder as delta", () => {
  deepStrictEqual(
    checkpointInventory([
      `${P}checkpoint-0/FULL/FULL`,
      `${P}checkpoint-300/FULL/FULL`,
      `${P}checkpoint-300/DELTA/DELTA`,
      `${P}checkpoint-330/DELTA/DELTA`,
      `${P}checkpoint-330/READY-340`,
      `${P}other/x`,
    ]),
    { all: [330, 300, 0], full: [0], delta: [330, 300] },
  );
});
