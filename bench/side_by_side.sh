#!/usr/bin/env bash
# Issue #3's side-by-side measurement in ONE call on the accelerator machine: our WebGPU (f32, f16)
# and CUDA (bf16, f32) proof forward and decode next to PyTorch + transformers bf16, same GPU, same
# call, then both backends' device tests and fixture accuracy. Results: $OUT/side_by_side.jsonl
# (one JSON object per line, as every bench prints) and $OUT/steps.log.
# Prepare here exactly as bench/h100_run.sh's header says (.device/ carried), then there:
#   source .device/prelude.sh && bash bench/side_by_side.sh   (SKIP_CHECKS=1: speed only)
set -u
export DENO_DIR=$PWD/.device/bench/deno_dir
CFG="--no-check --cached-only --config .device/bench/deno.json --no-lock"
D="deno run -A $CFG"
parent=$(dirname "$PWD")
[ -e "$parent/shared" ] || ln -s "$PWD/.device/shared" "$parent/shared"
J=$OUT/side_by_side.jsonl
step() { echo "== $(date +%T) $*" | tee -a "$OUT/steps.log"; }
step info
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee -a "$OUT/steps.log"
P05="--shape qwen2.5-0.5b --batch 16 --len 1024"
for p in f32 f16; do
  step "webgpu proof 0.5b $p"
  timeout 60 $D bench/proof_forward.ts $P05 --precision $p --iters 3 | tee -a "$J"
done
for p in bf16 f32; do
  step "cuda proof 0.5b $p"
  timeout 60 $D bench/proof_forward.ts --backend cuda $P05 --precision $p --iters 5 | tee -a "$J"
done
step "torch proof 0.5b + 4b, decode 0.5b"
PYTHONUNBUFFERED=1 timeout 150 python3 bench/torch_baseline.py --shapes qwen2.5-0.5b,qwen3-4b --decode false | tee -a "$J"
PYTHONUNBUFFERED=1 timeout 90 python3 bench/torch_baseline.py --shapes qwen2.5-0.5b --steps 64 | grep -v '"proof' | tee -a "$J"
step "webgpu proof 4b f16"
timeout 90 $D bench/proof_forward.ts --shape qwen3-4b --batch 16 --len 1024 --precision f16 --iters 2 | tee -a "$J"
step "cuda proof 4b bf16"
timeout 60 $D bench/proof_forward.ts --backend cuda --shape qwen3-4b --batch 16 --len 1024 --precision bf16 --iters 3 | tee -a "$J"
for p in f32 f16; do
  step "webgpu decode 0.5b $p"
  timeout 60 $D bench/decode.ts --shape qwen2.5-0.5b --batch 16 --prompt 32 --steps 64 --steps-logits 8 --precision $p --sampling greedy,protocol --generate | tee -a "$J"
done
step "cuda decode 0.5b bf16"
timeout 60 $D bench/cuda_decode.ts --shape qwen2.5-0.5b --batch 16 --prompt 32 --steps 128 --precision bf16 --modes logits,select,device_chunk16,generate | tee -a "$J"
[ "${SKIP_CHECKS:-0}" = 1 ] && { step done; exit 0; }  # speed only
step "accuracy"
timeout 60 $D bench/fixture_accuracy.ts | tee -a "$J"
timeout 60 $D bench/cuda_accuracy.ts | tee -a "$J"
step "tests gpu + cuda"
timeout ${TESTS_TIMEOUT:-200} deno test -A $CFG tests/gpu/*_test.ts \
  $(ls tests/cuda/*_test.ts | grep -v -e cli_verify -e role_config) > "$OUT/tests.log" 2>&1
grep -E "^(ok|FAILED)|\.\.\. (FAILED|ignored)" "$OUT/tests.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -15
step done
