#!/usr/bin/env python3
"""PyTorch baseline for bench/train.ts throughput: one GRPO optimiser step (same loss as
bench/torch_grad_check.py: sequence-level ratio, PPO clip [0.8, 1.28], DAPO token normalisation,
entropy bonus; KL off as in our throughput run) + clip_grad_norm_(0.5) + AdamW(0.9, 0.95, wd 0.1)
on B random sequences of T tokens, with a randomly initialised Qwen2.5-0.5B-shaped model.
Prints one JSON line per precision: float32 (TF32 off, eager attention, the math our f32 WGSL
does) and bf16 autocast (how the reference trainer runs).

Usage: python3 bench/torch_train_baseline.py [B=4] [T=512] [steps=3]
"""
import json
import sys
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

B = int(sys.argv[1]) if len(sys.argv) > 1 else 4
T = int(sys.argv[2]) if len(sys.argv) > 2 else 512
STEPS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
cfg = Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                  num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                  rms_norm_eps=1e-6, rope_theta=1e6, tie_word_embeddings=True,
                  max_position_embeddings=4096)
torch.manual_seed(0)
g = torch.Generator().manual_seed(1)
ids = torch.randint(0, cfg.vocab_size, (B, T), generator=g).cuda()
P = T // 8
n = T - P
old = torch.full((B,), -float(torch.log(torch.tensor(cfg.vocab_size)))).cuda()
adv = torch.tensor([1.0 if b % 2 == 0 else -1.0 for b in range(B)]).cuda()


def step(model, opt, autocast):
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        logits = model(input_ids=ids).logits[:, P - 1:T - 1].float()
    logp = torch.log_softmax(logits, -1)
    lp = logp.gather(2, ids[:, P:T].unsqueeze(-1)).squeeze(-1)
    ent = -(logp.exp() * logp).sum(-1)
    ratio = torch.clamp(torch.exp(torch.clamp(lp.mean(1) - old, -5, 5)), max=10)
    tok = -torch.minimum(ratio * adv, torch.clamp(ratio, 0.8, 1.28) * adv)
    loss = (tok * n).sum() / (B * n) - 0.001 * ent.sum() / (B * n)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    opt.step()


for name, autocast in (("f32", False), ("bf16_autocast", True)):
    model = Qwen2ForCausalLM(cfg).cuda().float()
    model.config._attn_implementation = "eager" if not autocast else "sdpa"
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, betas=(0.9, 0.95), weight_decay=0.1)
    step(model, opt, autocast)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(STEPS):
        step(model, opt, autocast)
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) / STEPS * 1000
    print(json.dumps({"name": "train_step_torch", "device": torch.cuda.get_device_name(0),
                      "shape": f"qwen2.5-0.5b (random init), B={B}, T={T}, {name}",
                      "metric": "tokens_per_s", "value": B * T / (ms / 1000), "unit": "tokens/s",
                      "iterations": STEPS, "step_ms": ms,
                      "torch": torch.__version__}), flush=True)
    del model, opt
    torch.cuda.empty_cache()
