#!/usr/bin/env bash
# Decode measurements on the accelerator machine (run tool), results under $OUT:
#   decode.jsonl   bench/decode.ts lines (tok/s, phase split, GPU ms per kernel family) for the
#                  tree in $NEW, and the previous decode code's own bench in $OLD when present
#   tests.log      tests/gpu/sample_test.ts and tests/gpu/webgpu_model_test.ts on the device
# Snapshots, so that other engineers' uncommitted files in the checkout do not run:
#   mkdir -p .device/decode_new && git archive HEAD src shaders bench tests/gpu tests/model deno.json | tar -x -C .device/decode_new
#   mkdir -p .device/decode_old && git archive <commit> src shaders bench deno.json | tar -x -C .device/decode_old
# Carry .device/{deno.xz,gl,prelude.sh,shared,bench,decode_new,decode_old}; there:
#   source .device/prelude.sh >/dev/null 2>&1; bash .device/decode_new/bench/decode_device.sh
set -u
ROOT=$PWD
NEW=${NEW:-$ROOT/.device/decode_new}
OLD=${OLD:-$ROOT/.device/decode_old}
export DENO_DIR=$ROOT/.device/bench/deno_dir
CFG="--no-check --cached-only --config $ROOT/.device/bench/deno.json --no-lock"
D="deno run -A $CFG"
J=$OUT/decode.jsonl
SHAPE="--shape qwen2.5-0.5b --batch 16 --prompt 32"
step() { echo "== $(date +%T) $*" | tee -a "$OUT/steps.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/nvidia.csv"
if [ -d "$OLD" ]; then
  step "old decode f32 greedy"
  (cd "$OLD" && timeout 40 $D bench/decode.ts $SHAPE --steps 32 | sed 's/^{/{"tree":"old",/' | tee -a "$J")
fi
cd "$NEW"
step "decode f32 greedy + protocol, logits vs device"
timeout 90 $D bench/decode.ts $SHAPE --steps 32 --steps-logits 8 --sampling greedy,protocol --sessions 4 --generate | tee -a "$J"
step "decode f16 greedy"
timeout 40 $D bench/decode.ts $SHAPE --steps 32 --precision f16 | tee -a "$J"
step "decode f32 greedy, 64 steps"
timeout 40 $D bench/decode.ts $SHAPE --steps 64 --mode device | tee -a "$J"
step "decode f32 device profile"
timeout 40 $D bench/decode.ts $SHAPE --steps 8 --mode device --profile | tee -a "$J"
step "tests"
timeout ${TESTS_TIMEOUT:-60} deno test -A $CFG tests/gpu/sample_test.ts tests/gpu/webgpu_model_test.ts > "$OUT/tests.log" 2>&1
grep -E "^(ok|FAILED)|FAILED|failed" "$OUT/tests.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -8
step done
