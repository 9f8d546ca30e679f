"""PyTorch + transformers bf16 baseline for bench/proof_forward.ts and bench/decode.ts.

Random-initialised models shaped like Qwen2.5-0.5B and Qwen3-4B (config values as in their
config.json), bf16 on the GPU, SDPA attention (flash-attn is not installed there).
Proof forward: base model -> last_hidden_state -> lm_head -> float32 log_softmax -> gather of the
next tokens, B x T random tokens, timed with CUDA events (median of --iters after warm-ups).
Decode: model.generate on a batch of B copies of one P-token prompt, greedy, exactly S new tokens.
Prints one JSON object per line, like the Deno benchmarks.

    python3 bench/torch_baseline.py --shapes qwen2.5-0.5b,qwen3-4b --batch 16 --len 1024
"""
import argparse
import json
import statistics

import torch
from transformers import AutoModelForCausalLM, Qwen2Config, Qwen3Config

SHAPES = {
    "qwen2.5-0.5b": lambda: Qwen2Config(
        hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
        num_key_value_heads=2, vocab_size=151936, rms_norm_eps=1e-6, rope_theta=1e6,
        max_position_embeddings=32768, tie_word_embeddings=True),
    "qwen3-4b": lambda: Qwen3Config(
        hidden_size=2560, intermediate_size=9728, num_hidden_layers=36, num_attention_heads=32,
        num_key_value_heads=8, head_dim=128, vocab_size=151936, rms_norm_eps=1e-6,
        rope_theta=1e6, max_position_embeddings=40960, tie_word_embeddings=True),
}


def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="qwen2.5-0.5b,qwen3-4b")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--len", type=int, default=1024)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--decode", default="true")
    a = ap.parse_args()
    device = torch.cuda.get_device_name(0)
    torch.manual_seed(0)
    for shape in a.shapes.split(","):
        cfg = SHAPES[shape]()
        cfg._attn_implementation = "sdpa"
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(cfg).to(torch.bfloat16).eval()
        B, T = a.batch, a.len
        ids = torch.randint(0, cfg.vocab_size, (B, T), device="cuda")

        def proof():
            with torch.inference_mode():
                h = model.model(input_ids=ids).last_hidden_state
                logits = model.lm_head(h)
                lp = torch.log_softmax(logits.float(), dim=-1)
                return h, lp[:, :-1].gather(-1, ids[:, 1:, None])

        torch.cuda.reset_peak_memory_stats()
        times = timed(proof, 2, a.iters)
        ms = statistics.median(times)
        print(json.dumps({
            "name": "proof_forward_torch", "device": device, "shape": f"{shape} B={B} T={T}",
            "precision": "bf16", "metric": "tokens_per_s", "value": round(B * T / (ms / 1000)),
            "unit": "tok/s", "iterations": a.iters, "medianMs": round(ms, 1),
            "peakGpuBytes": torch.cuda.max_memory_allocated()}), flush=True)
        if a.decode == "true":
            prompt = torch.randint(0, cfg.vocab_size, (1, a.prompt), device="cuda").repeat(B, 1)

            def gen():
                with torch.inference_mode():
                    model.generate(prompt, attention_mask=torch.ones_like(prompt),
                                   max_new_tokens=a.steps, min_new_tokens=a.steps,
                                   do_sample=False, pad_token_id=0)

            times = timed(gen, 1, 2)
            ms = statistics.median(times)
            print(json.dumps({
                "name": "decode_torch_generate", "device": device,
                "shape": f"{shape} B={B} prompt={a.prompt} steps={a.steps}", "precision": "bf16",
                "metric": "tokens_per_s", "value": round(B * a.steps / (ms / 1000)),
                "unit": "tok/s", "iterations": 2, "medianMs": round(ms, 1)}), flush=True)
        del model
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
