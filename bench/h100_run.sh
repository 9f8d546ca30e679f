#!/usr/bin/env bash
# One batched measurement on the accelerator machine (run tool), results under $OUT:
#   gpu.json        adapter info, features, limits as Deno's WebGPU reports them
#   tests.log       tests/gpu on the real GPU (f32 and, with shader-f16, f16 accuracy)
#   bench.jsonl     fixture accuracy, proof forward (+ per-kernel profile), decode, PyTorch bf16
# Prepare here first (everything lands in the git-ignored .device/, carried with carry [".device"]):
#   bash ../shared/tools/device-prepare.sh
#   mkdir -p .device/shared && cp -r ../shared/fixtures .device/shared/
#   echo '{ "imports": { "@noble/hashes/": "npm:/@noble/hashes@2.4.0/" } }' > .device/gpu_deno.json
#   DENO_DIR=.device/deno_gpu deno cache --config .device/gpu_deno.json --no-lock \
#     bench/proof_forward.ts bench/decode.ts bench/fixture_accuracy.ts tests/gpu/*_test.ts
# (a closure-only npm cache: the project's deno.json would pull every npm package, ~800 MB).
# Usage there: source .device/prelude.sh && bash bench/h100_run.sh [steps]
#   steps: info tests accuracy small torch decode large (default: all), or quick (about 1 minute);
#   LARGE_PRECISIONS="f16 f32" adds the f32 Qwen3-4B run.
set -u
STEPS=${1:-"info tests accuracy small torch decode large"}
export DENO_DIR=$PWD/.device/deno_gpu
D="deno run -A --no-check --config .device/gpu_deno.json --no-lock"
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
    timeout 240 deno test -A --no-check --config .device/gpu_deno.json --no-lock tests/gpu/*_test.ts > "$OUT/tests.log" 2>&1
    grep -E "^(ok|FAILED)|\.\.\. " "$OUT/tests.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -25 ;;
  accuracy)
    step accuracy
    timeout 120 $D bench/fixture_accuracy.ts | tee -a "$J" ;;
  small)
    for p in f32 f16; do
      step "proof 0.5b $p"
      timeout 150 $D bench/proof_forward.ts --shape qwen2.5-0.5b --batch 16 --len 1024 --precision $p --iters 3 --profile | tee -a "$J"
    done ;;
  quick)
    # A short run: 0.5B proof forward f32/f16 (+ profile), PyTorch 0.5B proof forward, decode.
    for p in f32 f16; do
      step "proof 0.5b $p"
      timeout 60 $D bench/proof_forward.ts --shape qwen2.5-0.5b --batch 16 --len 1024 --precision $p --iters 2 --profile | tee -a "$J"
    done
    step "torch 0.5b"
    PYTHONUNBUFFERED=1 timeout 60 python3 bench/torch_baseline.py --shapes qwen2.5-0.5b --decode false | tee -a "$J"
    step "decode 0.5b f32"
    timeout 40 $D bench/decode.ts --shape qwen2.5-0.5b --batch 16 --prompt 32 --steps 32 --precision f32 | tee -a "$J" ;;
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
  esac
done
step done
