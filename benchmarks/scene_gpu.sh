#!/usr/bin/env bash
# The GPU configuration of benchmarks/scene_centric.py in one call: every arm (the main ones, the
# crop-scale factorial, the built-in-saliency variants and the stock recipes: 13), 5 seeds, 10x
# the CPU configuration's images
# (batch 1024 x 750 steps), cluttered and control, 8 training processes sharing one card.
# Writes benchmarks/results/scene_centric_gpu.json ($OUT/scene_centric_gpu.json when $OUT is set, so that
# a partial file comes back from the device even if the run is killed).
# Budget: at most 5 minutes on one H200; not yet run on a GPU (no machine so far). By FLOPs counted on
# the CPU (docs/scene_centric.md) the full run needs about 20 TFLOP/s and a million rendered views per
# second, so it may not fit: --budget-s 240 ends the training at the first job that finishes after 240 s
# (then pair statistics and diagnose, about a minute), inside the device call's 420 s. Jobs run seed
# by seed, the JSON is rewritten after every finished job, and a cut run says settings.complete false
# and lists settings.missing_jobs.
#
# 1. Here (where Debian's dataset-fashion-mnist and opencv-doc are installed), once:
#        bash benchmarks/scene_gpu.sh fetch
#    copies Fashion-MNIST's idx files and the opencv-doc photos the scenes use into
#    benchmarks/out/scene_data/ (ignored by git, about 33 MiB).
# 2. With the device tool: run(command="bash benchmarks/scene_gpu.sh",
#    carry=["benchmarks/out/scene_data"], timeout_s=420).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=benchmarks/out/scene_data

if [[ "${1:-}" == "fetch" ]]; then
    mkdir -p "$DATA/fashion-mnist" "$DATA/opencv"
    cp /usr/share/datasets/fashion-mnist/*-ubyte.gz "$DATA/fashion-mnist/"
    python3 -c "from pairgen.scenes import OPENCV_PHOTO_NAMES; print('\n'.join(OPENCV_PHOTO_NAMES))" |
        while read -r name; do cp "/usr/share/doc/opencv-doc/examples/data/$name" "$DATA/opencv/" 2>/dev/null || true; done
    du -sh "$DATA"
    exit 0
fi

export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
FASHION=/usr/share/datasets/fashion-mnist
PHOTOS=/usr/share/doc/opencv-doc/examples/data
[[ -d "$DATA/fashion-mnist" ]] && FASHION="$DATA/fashion-mnist"
[[ -d "$DATA/opencv" ]] && PHOTOS="$DATA/opencv"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
start=$(date +%s)
RESULT=benchmarks/results/scene_centric_gpu.json
[[ -n "${OUT:-}" ]] && RESULT="$OUT/scene_centric_gpu.json"
python3 benchmarks/scene_centric.py --config gpu --budget-s 240 --out "$RESULT" \
    --fashion-mnist "$FASHION" --opencv-photos "$PHOTOS" "$@"
echo "scene_gpu.sh: $(( $(date +%s) - start )) s"

