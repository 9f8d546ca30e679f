import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { AdamW } from "../../src/train/adamw.ts";
import type { Params } from "../../src/train/params.ts";
import {
  loadTrainingState,
  paramsToStateDict,
  saveTrainingState,
} from "../../src/train/snapshot.ts";

const params = (): Params =>
  new Map([
    ["a", { shape: [2], data: new Float64Array([1.5, -2]) }],
    ["b", { shape: [1, 1], data: new Float64Array([0.1]) }],
  ]);

Deno.test("paramsToStateDict() rounds to bf16 to nearest even", () => {
  // 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: ties to even → 1 (0x3f80).
  const sd = paramsToStateDict(
    new Map([["w", { shape: [1], data: new Float64Array([1 + 2 ** -8]) }]]),
    "BF16",
  );
  deepStrictEqual([...sd.get("w")!.data], [0x80, 0x3f]);
});

Deno.test("paramsToStateDict() keeps names, order and shapes", () => {
  const sd = paramsToStateDict(params(), "F32");
  deepStrictEqual([...sd.keys()], ["a", "b"]);
  deepStrictEqual(sd.get("b")!.shape, [1, 1]);
});

Deno.test("saveTrainingState() and loadTrainingState() round-trip weights, moments and step (float32)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = params();
    const opt = new AdamW({ lr: 0.1 });
    opt.step(p, params());
    await saveTrainingState(`${dir}/s.safetensors`, p, opt);
    const q: Params = new Map(
      [...p].map(([k, t]) => [k, { shape: t.shape, data: new Float64Array(t.data.length) }]),
    );
    const opt2 = new AdamW({ lr: 0.1 });
    await loadTrainingState(`${dir}/s.safetensors`, q, opt2);
    strictEqual(opt2.stepCount, 1);
    deepStrictEqual([...q.get("a")!.data], [...Float32Array.from(p.get("a")!.data)]);
    deepStrictEqual([...opt2.v.get("b")!], [...Float32Array.from(opt.v.get("b")!)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
