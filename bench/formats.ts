/**
 * Throughput of the storage formats on the CPU: window-file encode/decode (Parquet + zstd via
 * parquet-wasm), sparse-delta encode/decode (v3.1 + zstd) and the xxh3-128 weights hash.
 * Prints one JSON object per result. Run: `deno run -A bench/formats.ts`
 */

import { computeSparseDelta } from "../src/net/checkpoint/sparse_delta.ts";
import { decodeSparseDelta, encodeSparseDelta } from "../src/net/checkpoint/delta_codec.ts";
import type { StateDict } from "../src/net/checkpoint/state_dict.ts";
import { computeWeightsHash } from "../src/net/checkpoint/weights_hash.ts";
import { decodeWindowFile, encodeWindowFile } from "../src/net/window_file.ts";
import type { Rollout } from "../src/protocol/rollout.ts";

const DEVICE = "cpu (Deno, 1 thread)";
const ITERATIONS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn: () => unknown | Promise<unknown>): Promise<number> {
  await fn(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

function emit(name: string, shape: string, metric: string, value: number, unit: string): void {
  console.log(
    JSON.stringify({ name, device: DEVICE, shape, metric, value, unit, iterations: ITERATIONS }),
  );
}

// A window of 256 rollouts × 2048 tokens (16 groups of 16).
const ROWS = 256;
const T = 2048;
const rollouts: Rollout[] = [];
for (let i = 0; i < ROWS; i++) {
  rollouts.push({
    window_start: 7200,
    block: 7201,
    nonce: i,
    block_hash: "0x" + "5e".repeat(32),
    randomness: "6a".repeat(32),
    use_drand: true,
    rollout_group: i >> 4,
    rollout_index: i & 15,
    total_in_group: 16,
    checkpoint_window: 7170,
    commit: {
      tokens: Array.from({ length: T }, (_, k) => (k * 7919 + i) % 151936),
      commitments: Array.from({ length: T }, (_, k) => ({ sketch: (k * 104729 + i) % 2147483647 })),
      proof_version: "v5",
      model: { name: "Qwen/Qwen3-4B", layer_index: -1 },
      signature: "ab".repeat(64),
      beacon: { randomness: "6a".repeat(32) },
      rollout: {
        total_reward: (i % 5) / 4,
        advantage: 0.1,
        success: i % 2 === 0,
        token_logprobs: Array.from(
          { length: T },
          (_, k) => k < 128 ? 0 : Math.fround(-(k % 97) / 7),
        ),
        prompt_length: 128,
        completion_length: T - 128,
      },
    },
    timestamp: 1764000000.5,
    challenge: `|0x${"5e".repeat(32)}|${i}`,
    hotkey: "5G7MPbdqATU23vuyk6zsqSRAyWYxrk4dipenavzCgWSbnGCz",
    signature: "cd".repeat(64),
  });
}
const input = { wallet: rollouts[0].hotkey, windowStart: 7200, timestamp: 1764000001.5, rollouts };
const file = encodeWindowFile(input);
const shape = `${ROWS} rollouts x ${T} tokens (${file.length} bytes)`;
const tokens = ROWS * T;
const enc = await time(() => encodeWindowFile(input));
emit("window_file_encode", shape, "tokens_per_s", Math.round(tokens / (enc / 1000)), "tokens/s");
const dec = await time(() => decodeWindowFile(file));
emit("window_file_decode", shape, "tokens_per_s", Math.round(tokens / (dec / 1000)), "tokens/s");

// Delta of a 64 Mi-element bf16 state dict with 1 % of elements changed.
const N = 1 << 26;
const baseBits = new Uint16Array(N);
for (let i = 0; i < N; i++) baseBits[i] = 0x3c00 + (i * 37) % 1024;
const curBits = baseBits.slice();
for (let i = 0; i < N; i += 100) curBits[i] ^= 0x15;
const sd = (bits: Uint16Array): StateDict =>
  new Map([["w", { dtype: "BF16", shape: [N / 4096, 4096], data: new Uint8Array(bits.buffer) }]]);
const delta = computeSparseDelta(sd(curBits), sd(baseBits));
const dfile = await encodeSparseDelta(delta.tensors, "sparse_codec_v3.1");
const dshape = `bf16 [${N / 4096}, 4096], 1% changed (${dfile.length} bytes)`;
const mb = (2 * N) / 1e6;
const tc = await time(() => computeSparseDelta(sd(curBits), sd(baseBits)));
emit("sparse_delta_compute", dshape, "throughput", Math.round(mb / (tc / 1000)), "MB/s");
const te = await time(() => encodeSparseDelta(delta.tensors, "sparse_codec_v3.1"));
emit(
  "sparse_delta_encode_v3.1",
  dshape,
  "changed_per_s",
  Math.round(delta.stats.nonzeroParams / (te / 1000)),
  "elements/s",
);
const td = await time(() => decodeSparseDelta(dfile, "sparse_codec_v3.1"));
emit(
  "sparse_delta_decode_v3.1",
  dshape,
  "changed_per_s",
  Math.round(delta.stats.nonzeroParams / (td / 1000)),
  "elements/s",
);
const th = await time(() => computeWeightsHash(sd(baseBits)));
emit(
  "weights_hash_xxh3_128",
  `${mb.toFixed(0)} MB`,
  "throughput",
  Math.round(mb / (th / 1000)),
  "MB/s",
);
