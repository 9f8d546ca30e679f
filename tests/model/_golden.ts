/** Reads the shared golden fixtures (Hugging Face float32 / bf16-CUDA references). */
import { readSafetensorsHeader, readTensorBytes } from "../../src/model/safetensors.ts";

export const SHARED: string = new URL("../../../shared/", import.meta.url).pathname;
export const FIXTURE_MODELS = ["qwen3-tiny", "qwen2-tiny"] as const;

export interface GoldenSeq {
  inputIds: number[];
  hiddenF32: Float32Array;
  nextTokenLogprobF32: Float32Array;
  hiddenBf16Cuda: Float32Array;
  nextTokenLogprobBf16Cuda: Float32Array;
  logitsF32?: Float32Array;
  promptLen: number;
  indices: number[];
  sketchF32: number[];
  sketchBf16Cuda: number[];
}

export interface Golden {
  dir: string;
  randomness: string;
  rVec: number[];
  seqs: GoldenSeq[];
}

export async function readGolden(model: string): Promise<Golden> {
  const dir = `${SHARED}fixtures/${model}`;
  const header = await readSafetensorsHeader(`${dir}/golden.safetensors`);
  const byName = new Map(header.entries.map((e) => [e.name, e]));
  const f32 = async (name: string) => {
    const e = byName.get(name);
    if (e === undefined) throw new Error(`golden tensor ${name} missing`);
    if (e.dtype !== "F32") throw new Error(`golden tensor ${name} is ${e.dtype}`);
    const b = await readTensorBytes(e);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  const ids = async (name: string) => {
    const e = byName.get(name)!;
    const b = await readTensorBytes(e);
    if (e.dtype === "I32") return [...new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4)];
    if (e.dtype === "I64") {
      return [...new BigInt64Array(b.buffer, b.byteOffset, b.byteLength / 8)].map(Number);
    }
    throw new Error(`golden ids ${name} are ${e.dtype}`);
  };
  const json = JSON.parse(await Deno.readTextFile(`${dir}/golden.json`));
  const seqs: GoldenSeq[] = [];
  for (let s = 0; s < json.seqs.length; s++) {
    const j = json.seqs[s];
    seqs.push({
      inputIds: await ids(`seq${s}.input_ids`),
      hiddenF32: await f32(`seq${s}.hidden_f32`),
      nextTokenLogprobF32: await f32(`seq${s}.next_token_logprob_f32`),
      hiddenBf16Cuda: await f32(`seq${s}.hidden_bf16_cuda`),
      nextTokenLogprobBf16Cuda: await f32(`seq${s}.next_token_logprob_bf16_cuda`),
      logitsF32: byName.has(`seq${s}.logits_f32`) ? await f32(`seq${s}.logits_f32`) : undefined,
      promptLen: j.prompt_len,
      indices: j.indices,
      sketchF32: j.sketch_f32,
      sketchBf16Cuda: j.sketch_bf16_cuda,
    });
  }
  return { dir, randomness: json.randomness, rVec: json.r_vec, seqs };
}
