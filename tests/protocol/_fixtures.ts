/**
 * Test helpers: read the golden fixtures in `../shared/fixtures/` (independent references, see
 * their README) without losing digits of integers beyond 2^53.
 */

/** The shared fixtures folder, resolved from the repository root. */
export const FIXTURES_DIR: URL = new URL("../../../shared/fixtures/", import.meta.url);

/**
 * JSON.parse that keeps integers beyond 2^53 exact as bigint, using the reviver's source text
 * (V8 JSON.parse source text access).
 */
export function parseJsonLossless(text: string): unknown {
  return JSON.parse(
    text,
    function (this: unknown, _key: string, value: unknown, context?: { source?: string }) {
      if (
        typeof value === "number" && context?.source !== undefined &&
        /^-?\d+$/.test(context.source) && !Number.isSafeInteger(value)
      ) {
        return BigInt(context.source);
      }
      return value;
    } as (this: unknown, key: string, value: unknown) => unknown,
  );
}

/** Reads and parses one fixture file, relative to the fixtures folder. */
export async function readFixtureJson<T>(path: string): Promise<T> {
  return parseJsonLossless(await Deno.readTextFile(new URL(path, FIXTURES_DIR))) as T;
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of a hex string (even length, no prefix). */
export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The long token list of grail-vectors.json: `[151644, 8948, 198] + [i*7919 % 151000 for i in 1..1199]`. */
export function longTokens(): number[] {
  const out = [151644, 8948, 198];
  for (let i = 1; i < 1200; i++) out.push((i * 7919) % 151000);
  return out;
}

/** One tensor of a safetensors file, widened for tests. */
export interface FixtureTensor {
  dtype: "F32" | "I32";
  shape: number[];
  data: Float32Array | Int32Array;
}

/**
 * A minimal safetensors reader for the golden fixtures (F32 and I32 only), kept local so these
 * tests do not depend on the model code under test elsewhere.
 */
export async function readSafetensors(path: string): Promise<Map<string, FixtureTensor>> {
  const bytes = await Deno.readFile(new URL(path, FIXTURES_DIR));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const base = 8 + headerLength;
  const out = new Map<string, FixtureTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [begin, end] } = info as {
      dtype: string;
      shape: number[];
      data_offsets: [number, number];
    };
    const raw = bytes.slice(base + begin, base + end);
    if (dtype === "F32") out.set(name, { dtype, shape, data: new Float32Array(raw.buffer) });
    else if (dtype === "I32") out.set(name, { dtype, shape, data: new Int32Array(raw.buffer) });
    else throw new Error(`fixture ${path}: tensor ${name} has unsupported dtype ${dtype}`);
  }
  return out;
}

/** The golden.json of a fixture model. */
export interface GoldenJson {
  model: string;
  randomness: string;
  challenge_k: number;
  r_vec: number[];
  seqs: {
    prompt_len: number;
    len: number;
    indices: number[];
    sketch_f32: number[];
    sketch_bf16_cuda: number[];
    verify_f32_validator_vs_bf16_miner: {
      pos: number;
      valid: boolean;
      diff: number;
      tol: number;
    }[];
    commit_binding_hex_bf16_cuda: string;
    tokens_hash_hex: string;
  }[];
}

/** A fixture model's golden data: JSON plus tensors. */
export interface Golden {
  name: string;
  json: GoldenJson;
  tensors: Map<string, FixtureTensor>;
}

/** The two fixture models' golden data. */
export const GOLDEN_MODELS = ["qwen3-tiny", "qwen2-tiny"] as const;

/** Loads a fixture model's golden.json and golden.safetensors. */
export async function readGolden(name: string): Promise<Golden> {
  return {
    name,
    json: await readFixtureJson<GoldenJson>(`${name}/golden.json`),
    tensors: await readSafetensors(`${name}/golden.safetensors`),
  };
}

/** Token ids of golden sequence `i`. */
export function goldenTokens(golden: Golden, i: number): number[] {
  return Array.from(golden.tensors.get(`seq${i}.input_ids`)!.data);
}

/** Whether the 16th and 17th largest |x| of a row tie (then torch's order decided the top-16). */
export function hasBoundaryTie(row: ArrayLike<number>, k = 16): boolean {
  const mags = Array.from(row, Math.abs).sort((a, b) => b - a);
  return mags.length > k && mags[k - 1] === mags[k];
}
