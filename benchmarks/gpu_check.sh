#!/usr/bin/env bash
# The GPU check of issue 11 (item 7) in one call, within 6 minutes on one card:
# pairgen's device stage (fused Triton kernels, PairSampler batched / triton / compiled
# where this pairgen has them) against kornia, torchaug and triton-augment, on uint8
# batches of 256 photos already on the GPU, 224-px views in float32 and bfloat16:
# views/s, ratios against the targets, device-stage peak memory over the output, host
# syncs per call, and the fused kernels' difference from their torch reference. Then the
# kernel tests on the GPU (compiled, not interpreted) if time is left. Writes
# $OUT/gpu_check.json (or benchmarks/out/ without $OUT) and prints the table.
#
# 1. Here (a machine with pip and a registry), once, from the repository root:
#        bash benchmarks/gpu_check.sh fetch
#    puts the peers' wheels for the GPU machine's Python 3.12 in .whl/ (ignored by git):
#    kornia, kornia_rs, torchaug and triton-augment. torch (with triton), torchvision, numpy,
#    opencv, scikit-image and PyYAML are already on the GPU machine.
# 2. With the device tool: run(command="bash benchmarks/gpu_check.sh", carry=[".whl"],
#    timeout_s=420). Without .whl/ the benchmark tries `pip install --no-deps --target`
#    (a registry may be unreachable there); peers it cannot get are reported as skipped.
#
# Without CUDA (a dry run anywhere) it runs the CPU fallbacks instead: this benchmark's
# --quick (tiny sizes, Triton kernels in Triton's interpreter) and the CPU protocol's quick run.
set -uo pipefail
cd "$(dirname "$0")/.."

WHEELS=(kornia==0.9.0 kornia_rs==0.2.0 torchaug==0.6.1 triton-augment==0.3.0)

if [[ "${1:-}" == "fetch" ]]; then
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${WHEELS[@]}"
    exit $?
fi

export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
    # --target keeps the machine's own torch untouched; --no-deps: torchaug's metadata pins
    # an old torchvision that it does not need, triton-augment's asks for torch and triton.
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/pairgen-peers .whl/*.whl \
        && export PYTHONPATH="/tmp/pairgen-peers${PYTHONPATH:+:$PYTHONPATH}" \
        || echo "gpu_check: installing .whl/ failed (not Python 3.12?); the benchmark will try pip"
else
    echo "gpu_check: no .whl/ (run 'bash benchmarks/gpu_check.sh fetch' here first); the benchmark will try pip"
fi

out="${OUT:-benchmarks/out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "gpu_check: no nvidia-smi"

if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    start=$SECONDS
    timeout 300 python3 benchmarks/bench_gpu.py --install --json "$out/gpu_check.json"
    status=$?
    [[ $status -eq 124 ]] && echo "gpu_check: the benchmark ran past 300 s and was stopped (rows so far: $out/gpu_check.json)"
    left=$(( 340 - (SECONDS - start) ))
    if (( left > 20 )); then
        echo "gpu_check: kernel tests on the GPU (${left} s left)"
        timeout "$left" python3 -m pytest -q -x -p no:cacheprovider tests/test_kernels.py 2>&1 | tail -5
    fi
else
    echo "gpu_check: CUDA is not available; running the CPU fallbacks instead"
    timeout 300 python3 benchmarks/bench_gpu.py --quick --json "$out/gpu_check_quick.json"
    status=$?
    timeout 240 python3 benchmarks/bench_simclr.py --device cpu --quick --json "$out/cpu_quick.json" || status=$?
fi
exit $status
