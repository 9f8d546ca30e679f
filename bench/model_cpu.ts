/**
 * CPU reference model throughput on the shared fixture models (qwen3-tiny, qwen2-tiny): proof
 * forward tokens/s (batch of sequences, hidden states + next-token log-probs) and KV-cached
 * decode tokens/s at batch 1 and 16 (a GRPO group). Single-threaded TypeScript, float64 sums.
 * Prints one JSON object per result line. The machine is shared, so besides wall time each line
 * gives `cpuMs`, the process's CPU time (user + system) over the timed region: the JS runs on
 * one thread, so tokens per CPU-second is the figure that other jobs disturb least.
 *
 * Run: `deno run -A bench/model_cpu.ts [--batch 4] [--len 256] [--decode 32] [--iterations 3]`
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { loadCpuModel } from "../src/model/cpu_model.ts";
import { SeededRandom } from "../src/model/seeded_random.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    batch: { type: "string", default: "4" },
    len: { type: "string", default: "256" },
    decode: { type: "string", default: "32" },
    prompt: { type: "string", default: "64" },
    iterations: { type: "string", default: "3" },
  },
});
const B = Number(values.batch);
const T = Number(values.len);
const steps = Number(values.decode);
const promptLen = Number(values.prompt);
const iterations = Number(values.iterations);
const shared = new URL("../../shared/fixtures/", import.meta.url).pathname;

let device = "cpu";
try {
  const model = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m)?.[1];
  if (model) device = `cpu: ${model.trim()} (1 thread)`;
} catch {
  device = "cpu (model unknown: /proc/cpuinfo unreadable)";
}

function cpuMilliseconds(since: { user: number; system: number }): number {
  const d = cpuUsage(since);
  return (d.user + d.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

for (const name of ["qwen3-tiny", "qwen2-tiny"]) {
  const model = await loadCpuModel(`${shared}${name}`);
  const rng = new SeededRandom(1);
  const seqs = Array.from(
    { length: B },
    () => Array.from({ length: T }, () => Math.floor(rng.random() * model.vocabSize)),
  );
  await model.proofForward([seqs[0].slice(0, 16)]); // warm-up: JIT
  const proofMs: number[] = [];
  const proofCpuMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const cpu = cpuUsage();
    const start = performance.now();
    await model.proofForward(seqs);
    proofMs.push(performance.now() - start);
    proofCpuMs.push(cpuMilliseconds(cpu));
  }
  const pm = median(proofMs);
  const pc = median(proofCpuMs);
  console.log(JSON.stringify({
    name: `model_cpu.proof_forward.${name}`,
    device,
    shape: { B, T },
    metric: "tokens_per_second",
    unit: "tok/s",
    iterations,
    value: Math.round((B * T) / (pm / 1000)),
    medianMs: +pm.toFixed(1),
    cpuMs: +pc.toFixed(1),
    tokensPerCpuSecond: Math.round((B * T) / (pc / 1000)),
  }));

  for (const rows of [1, 16]) {
    const prompt = seqs[0].slice(0, promptLen);
    const decodeMs: number[] = [];
    const decodeCpuMs: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const session = model.startGeneration(rows, promptLen + steps);
      await session.prefill(Array.from({ length: rows }, () => prompt));
      const cpu = cpuUsage();
      const start = performance.now();
      for (let s = 0; s < steps; s++) {
        await session.step(Array.from({ length: rows }, (_, b) => (s + b) % 97));
      }
      decodeMs.push(performance.now() - start);
      decodeCpuMs.push(cpuMilliseconds(cpu));
      session.dispose();
    }
    const dm = median(decodeMs);
    const dc = median(decodeCpuMs);
    console.log(JSON.stringify({
      name: `model_cpu.decode.${name}`,
      device,
      shape: { B: rows, promptLen, steps },
      metric: "tokens_per_second",
      unit: "tok/s",
      iterations,
      value: Math.round((rows * steps) / (dm / 1000)),
      medianMs: +dm.toFixed(1),
      cpuMs: +dc.toFixed(1),
      tokensPerCpuSecond: Math.round((rows * steps) / (dc / 1000)),
    }));
  }
  model.dispose();
}
