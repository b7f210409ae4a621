#!/usr/bin/env bash
# Every GPU figure and the GPU test tier in one run on a GPU machine (issue 18):
#   1. the exact ablation sweep of a pythia-70m-shaped model (random weights): all 2048
#      neurons of a middle layer against the one-pass-per-neuron loop, float32 and bfloat16,
#      and the last layer's closed form; each run also times a large matmul (the peak);
#   2. the gradients and suite benchmarks on the GPU;
#   3. tests/gpu: every claim kind on CUDA against the CPU (same verdicts, numbers to 1e-4);
#   4. with more than one GPU visible, the suite spread over them (--neurospec-devices).
#
#   bash benchmarks/gpu.sh [OUTDIR]        (default reports/gpu; or $OUT where it is set)
#
# A machine without transformer_lens (or pytest-html) installs the wheels carried in .whl/
# (pip download --no-deps ... into .whl on a machine with network) into /tmp/site.  Each step
# has its own time limit and the script goes on after a failed step; the figures are appended
# to OUTDIR/files/sweeps.jsonl and everything is packed into OUTDIR/gpu-results.tar.gz (or
# $NEUROSPEC_GPU_TAR) after each step.
# A dry run of the script itself on a CPU machine: NEUROSPEC_BENCH_DEVICE=cpu
# NEUROSPEC_BENCH_QUICK=1 NEUROSPEC_GPU_TIER_DEVICE=cpu (NEUROSPEC_WHEELS: another wheel folder).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-reports/gpu}}
mkdir -p "$out/files"
tarball=${NEUROSPEC_GPU_TAR:-$out/gpu-results.tar.gz}  # everything, packed after each step
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
status=0
step() {  # step NAME SECONDS COMMAND...: run it, log it, remember a failure
  local name=$1 limit=$2
  shift 2
  echo "=== $name ($(date -u +%H:%M:%S), limit ${limit}s): $*"
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee "$out/files/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: rc $rc in $((SECONDS - t0)) s"
  [ "$rc" = 0 ] || status=1
  tar -czf "$tarball" -C "$out" files  # what is done so far, if the run is cut
}

wheels=${NEUROSPEC_WHEELS:-.whl}
if ! "$py" -c "import transformer_lens, pytest_html" 2>/dev/null; then
  if ls "$wheels"/*.whl >/dev/null 2>&1; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site "$wheels"/*.whl || exit 1
    export PYTHONPATH=/tmp/site
  else
    echo "transformer_lens is missing and no wheels are in .whl/: see the header" >&2
    exit 1
  fi
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm \
    --format=csv 2>&1
  "$py" - <<'EOF'
import platform, torch, transformers, transformer_lens, importlib.metadata as md
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda,
      "transformers", transformers.__version__, "transformer_lens", md.version("transformer_lens"))
print("devices", [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])
EOF
  nproc
} 2>&1 | tee "$out/files/environment.txt"
gpus=$("$py" -c "import torch; print(torch.cuda.device_count())")
dev=${NEUROSPEC_BENCH_DEVICE:-cuda}
quick=() small=() loopn=256
if [ -n "${NEUROSPEC_BENCH_QUICK:-}" ]; then
  quick=(--quick) small=(--quick --prompts 4 --neurons 8) loopn=4
fi
jsonl=$out/files/sweeps.jsonl
bench=(benchmarks/sweep_pythia_shape.py --device "$dev" --threads 8 --json "$jsonl" "${small[@]}")

# In order of importance, each with a limit that keeps the whole run under ~9 minutes.  On an
# H200 (2026-11-30) the steps took 90, 184, 46, 45, 37 and ~40 s: give the run 8 minutes or more.
# 1. the headline sweep: float32, middle layer, every neuron against the full loop, profiled.
step sweep-f32 150 "$py" "${bench[@]}" --save-rows "$out/files/rows-f32.npy" --profile 64
# 3. the GPU test tier (the hypotheses suite on the CPU and on CUDA, compared claim by claim)
workers=$(( $(nproc) >= 8 ? 4 : 2 ))
NEUROSPEC_GPU_TIER_OUT="$out/files/tier" NEUROSPEC_GPU_TIER_WORKERS=$workers \
  step tier 200 "$py" -m pytest tests/gpu -v -p no:cacheprovider -rs
# 1. the last layer's closed form, and bfloat16 (the loop on 256 neurons: the speedup is then
# per neuron; bf16 rows are also compared with the float32 ones)
step closed-f32 60 "$py" "${bench[@]}" --method closed_form --loop-neurons "$loopn"
step sweep-bf16 60 "$py" "${bench[@]}" --dtype bfloat16 --loop-neurons "$loopn" \
  --reference "$out/files/rows-f32.npy" --profile 64
# 2. the other benchmarks on the GPU
step gradients 40 "$py" benchmarks/gradients.py --device "$dev" "${quick[@]}"
step suite 40 "$py" benchmarks/suite.py --device "$dev" "${quick[@]}"
# 4. pinning workers to GPUs
if [ "$gpus" -gt 1 ]; then
  devices=$("$py" -c "print(','.join(f'cuda:{i}' for i in range($gpus)))")
  plugin=()  # a source tree on PYTHONPATH has no entry point: name the plugin
  "$py" -c "import importlib.metadata as m, sys; sys.exit(not any(e.name == 'neurospec'
    for e in m.entry_points(group='pytest11')))" || plugin=(-p neurospec.plugin.plugin)
  step pinning 300 "$py" -m pytest hypotheses -q -p no:cacheprovider -n "$gpus" "${plugin[@]}" \
    --dist loadfile --device cuda --neurospec-devices "$devices"
else
  echo "=== pinning: one GPU visible ($gpus), --neurospec-devices not exercised"
fi
echo "=== figures"
cat "$jsonl" 2>/dev/null
grep -h "^name=\|passed\|failed" "$out"/files/*.log 2>/dev/null | tail -20
exit $status
