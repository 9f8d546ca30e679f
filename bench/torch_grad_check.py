#!/usr/bin/env python3
"""Independent reference for the trainer's gradients: PyTorch + transformers compute the GRPO loss
of infra spec §9 (sequence-level ratio clamped ±5, ceiling 10, PPO clip [0.8, 1.28], DAPO token
normalisation, KL ½(lp−lp_ref)², entropy bonus) on the fixed inputs of
tests/fixtures/train/grad_check_inputs.json and dump ∂L/∂θ for every parameter.

Written from the spec, not from our TypeScript. Runs each loss config in float32 (TF32 off, eager
attention) and in float64. Output, per (dtype, config): grads_{dtype}_{config}.bin (tensors in
sorted-name order, float32 little-endian for the float32 run, float64 for the float64 run) and one
results.json with names, shapes, offsets, losses and timings.

Usage: python3 bench/torch_grad_check.py MODEL_DIR INPUTS_JSON OUT_DIR
"""
import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM

model_dir, inputs_path, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
device = "cuda" if torch.cuda.is_available() else "cpu"
inputs = json.load(open(inputs_path))
seqs = inputs["sequences"]


def clip_advantages(adv, percentile, dtype):
    a = torch.tensor(adv, dtype=dtype, device=device)
    q = max(0.0, min(100.0, float(percentile))) / 100.0
    if 0.0 < q < 1.0:
        v = torch.quantile(a.abs(), q)
        a = a.clamp(-v, v)
    return a


def grpo_loss(model, cfg, dtype):
    lp_cur, ent, n_tok = [], [], []
    for s in seqs:
        ids = torch.tensor([s["tokens"]], device=device)
        logits = model(input_ids=ids).logits[0].to(dtype)
        p = s["prompt_length"]
        t = len(s["tokens"])
        logp = torch.log_softmax(logits[p - 1 : t - 1], dim=-1)
        tgt = ids[0, p:t]
        lp_cur.append(logp.gather(1, tgt.unsqueeze(1)).squeeze(1))
        ent.append(-(logp.exp() * logp).sum(-1))
        n_tok.append(t - p)
    N = sum(n_tok)
    adv = clip_advantages([s["advantage"] for s in seqs], inputs["adv_clip_percentile"], dtype)
    if not cfg["use_advantages"]:
        adv = torch.zeros_like(adv)
    pg = kl = ent_sum = 0.0
    for i, s in enumerate(seqs):
        old = torch.tensor(s["behaviour_logprobs"], dtype=dtype, device=device)
        ref = torch.tensor(s["reference_logprobs"], dtype=dtype, device=device)
        log_ratio = (lp_cur[i].sum() - old.sum()) / n_tok[i]
        ratio = torch.clamp(torch.exp(torch.clamp(log_ratio, -5.0, 5.0)), max=10.0)
        clipped = torch.clamp(ratio, 0.8, 1.28)
        token_loss = -torch.minimum(ratio * adv[i], clipped * adv[i])
        pg = pg + token_loss * n_tok[i]
        kl = kl + (0.5 * (lp_cur[i] - ref) ** 2).sum()
        ent_sum = ent_sum + ent[i].sum()
    return pg / N + cfg["kl_coef"] * kl / N - cfg["entropy_coef"] * ent_sum / N


results = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
           "torch": torch.__version__, "runs": {}}
for dtype_name, dtype in (("f32", torch.float32), ("f64", torch.float64)):
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=dtype, attn_implementation="eager").to(device)
    model.train()
    names = sorted(n for n, _ in model.named_parameters())
    params = dict(model.named_parameters())
    for cfg_name, cfg in inputs["configs"].items():
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        loss = grpo_loss(model, cfg, dtype)
        loss.backward()
        if device == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - t0
        index, offset = [], 0
        with open(f"{out_dir}/grads_{dtype_name}_{cfg_name}.bin", "wb") as f:
            for n in names:
                g = params[n].grad
                g = torch.zeros_like(params[n]) if g is None else g
                b = g.detach().cpu().contiguous().numpy().astype("<f4" if dtype_name == "f32" else "<f8").tobytes()
                index.append({"name": n, "shape": list(g.shape), "offset": offset, "bytes": len(b)})
                offset += len(b)
                f.write(b)
        results["runs"][f"{dtype_name}_{cfg_name}"] = {
            "loss": float(loss), "seconds": elapsed, "tensors": index}
        print(dtype_name, cfg_name, "loss", float(loss), "seconds", round(elapsed, 3), flush=True)
json.dump(results, open(f"{out_dir}/results.json", "w"), indent=1)
