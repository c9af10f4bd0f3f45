#!/usr/bin/env bash
# The GPU check of issue 2 in one call: pairgen's device mode against kornia and torchaug
# on uint8 batches of 256 already on the GPU (views/s, and the device stage's peak memory
# against the output views). About 2-3 minutes on an H100; prints the table and ratios and
# writes $OUT/gpu_bench.json (or benchmarks/out/ without $OUT).
#
# 1. Here (a machine with pip and the internet), once, from the repository root:
#        bash benchmarks/gpu_check.sh fetch
#    puts the peers' wheels for the GPU machine's Python 3.12 in .whl/ (ignored by git,
#    about 7 MiB): kornia, kornia_rs and torchaug. torch, torchvision, numpy, opencv,
#    scikit-image and PyYAML are already on the GPU machine; lightly is not needed there.
# 2. With the device tool: run(command="bash benchmarks/gpu_check.sh", carry=[".whl"],
#    timeout_s=420). Without .whl the peers are reported as skipped and pairgen runs alone.
#
# Without CUDA (for a dry run anywhere) the script runs the CPU protocol's --quick instead.
set -uo pipefail
cd "$(dirname "$0")/.."

WHEELS=(kornia==0.9.0 kornia_rs==0.2.0 torchaug==0.6.1)

if [[ "${1:-}" == "fetch" ]]; then
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${WHEELS[@]}"
    exit $?
fi

export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
    # --target keeps the machine's own torch untouched; --no-deps: torchaug's metadata pins
    # an old torchvision that it does not need.
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/pairgen-peers .whl/*.whl \
        && export PYTHONPATH="/tmp/pairgen-peers${PYTHONPATH:+:$PYTHONPATH}" \
        || echo "gpu_check: installing .whl/ failed (not Python 3.12?); using the peers this Python has, if any"
else
    echo "gpu_check: no .whl/ (run 'bash benchmarks/gpu_check.sh fetch' here first); peers will be skipped"
fi

out="${OUT:-benchmarks/out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "gpu_check: no nvidia-smi"
python3 - <<'EOF'
import importlib, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
for name in ("torchvision", "kornia", "torchaug", "cv2", "skimage", "yaml"):
    try:
        print(name, importlib.import_module(name).__version__)
    except Exception as error:
        print(name, "MISSING:", type(error).__name__, error)
EOF

if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    # Budgets keep kornia and torchaug (seconds per call at batch 256) inside the time limit.
    timeout 360 python3 benchmarks/bench_simclr.py --device cuda --batch 256 --images 512 --epochs 10 \
        --repeats 3 --budget 10 --json "$out/gpu_bench.json"
else
    echo "gpu_check: CUDA is not available; running the CPU protocol's quick run instead"
    timeout 360 python3 benchmarks/bench_simclr.py --device cpu --quick --json "$out/cpu_quick.json"
fi
status=$?
[[ $status -eq 124 ]] && echo "gpu_check: the benchmark ran past 360 s and was stopped"
exit $status
