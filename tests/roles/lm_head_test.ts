import { ok as assert, rejects } from "node:assert/strict";
import { loadLogitsSource } from "../../src/roles/lm_head.ts";
import { readGolden } from "../model/_golden.ts";

Deno.test("loadLogitsSource() rebuilds Hugging Face's f32 logits from the final hidden states", async () => {
  const golden = await readGolden("qwen3-tiny");
  const src = await loadLogitsSource(golden.dir);
  const s = golden.seqs[0];
  const V = src.vocabSize;
  const logits = s.logitsF32!;
  let maxErr = 0;
  for (const t of [0, 5, s.inputIds.length - 1]) {
    const row = src.logitsRow(s.hiddenF32, t);
    for (let v = 0; v < V; v++) maxErr = Math.max(maxErr, Math.abs(row[v] - logits[t * V + v]));
  }
  // Tolerance 1e-4: a 128-term dot product of O(1) values, f64 here vs f32 GEMM in torch.
  assert(maxErr < 1e-4, `max error ${maxErr}`);
});

Deno.test("loadLogitsSource() names a missing checkpoint folder", async () => {
  await rejects(() => loadLogitsSource("/nonexistent/model"), /nonexistent/);
});
