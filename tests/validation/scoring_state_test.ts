import { strictEqual } from "node:assert/strict";
import { ScoringState } from "../../src/validation/scoring_state.ts";
import type { MinerWindowMetrics } from "../../src/validation/aggregation.ts";

function metrics(unique: number, failed = false): MinerWindowMetrics {
  return {
    valid: 16,
    checked: 16,
    total: unique,
    estimated_valid: unique,
    successful: 0,
    estimated_successful: 0,
    unique: 16,
    estimated_unique: unique,
    prompt_valid: 16,
    prompt_mismatch: 0,
    had_failure: failed ? 1 : 0,
    failure_reason: failed ? "hard:proof_valid" : null,
  };
}

Deno.test("ScoringState submits weights only after 12 processed windows, once per interval", () => {
  const s = new ScoringState();
  for (let i = 0; i < 11; i++) {
    s.beginWindow(["burn", "m"], `0x${i}`);
    s.endWindow(3600 + 30 * i, new Map([["m", metrics(5000)]]));
  }
  strictEqual(s.weightsDue(3960), false);
  s.beginWindow(["burn", "m"], "0xb");
  s.endWindow(3930, new Map([["m", metrics(5000)]]));
  strictEqual(s.weightsDue(3980), false, "interval 11 was consumed while too early");
  strictEqual(s.weightsDue(4320), true);
  strictEqual(s.weightsDue(4330), false);
});

Deno.test("ScoringState weights a miner that produced the full cap at 10 %", () => {
  const s = new ScoringState();
  for (let i = 0; i < 12; i++) {
    s.beginWindow(["m"], `0x${i}`);
    s.endWindow(3600 + 30 * i, new Map([["m", metrics(5000)]]));
  }
  const w = s.weights(["burn", "m"], [0, 1], 3930);
  strictEqual(w.weights[1], 0.09999999999999998);
  strictEqual(w.weights[0], 0.9);
});

Deno.test("ScoringState excludes a failed miner from sampling for 14 windows", () => {
  const s = new ScoringState();
  s.beginWindow(["m"], "0x0");
  s.endWindow(3600, new Map([["m", metrics(0, true)]]));
  // Excluded in the 14 windows after the failure, eligible again in the 15th.
  for (let i = 1; i <= 15; i++) {
    const chosen = s.beginWindow(["m"], `0x${i}`);
    strictEqual(chosen.length, i <= 14 ? 0 : 1, `window ${i}`);
    s.endWindow(3600 + 30 * i, new Map());
  }
});
