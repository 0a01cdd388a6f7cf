#!/usr/bin/env bash
# Reproduces the five MediaEval 2018 runs of Liu & Zhao and evaluates them.
#
# Needs (see README.md in this folder):
#   MEPP18=/path/to/folder with MEPP18val.csv, MEPP18test.csv and val_large/ (Places365 val images)
#   WEIGHTS=/path/to/folder with resnet50_places365.pth.tar, weights_mobilenet_aesthetic_0.07.hdf5,
#           style_ukiyoe.pth (CycleGAN latest_net_G.pth) and Hayao_net_G_float.pth
# Usage: MEPP18=... WEIGHTS=... bash experiments/mediaeval2018/run.sh [OUT]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${1:-$ROOT/runs/mediaeval2018}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
: "${MEPP18:?set MEPP18 to the MEPP18 manual-download folder}"
: "${WEIGHTS:?set WEIGHTS to the folder holding the published weight files}"
IMAGES="$MEPP18/val_large"; [ -d "$IMAGES" ] || IMAGES="$MEPP18/val_256"
mkdir -p "$OUT/models" "$OUT/sets/val" "$OUT/sets/test"

port() {  # arch, file, name
  [ -d "$OUT/models/$3" ] || "$PY" -m pp_tf.scripts.port_weights --arch="$1" \
      --source="$WEIGHTS/$2" --output_dir="$OUT/models/$3"
}
port places365_resnet50 resnet50_places365.pth.tar places365_resnet50
port nima_mobilenet weights_mobilenet_aesthetic_0.07.hdf5 nima
port cyclegan_resnet9 style_ukiyoe.pth cyclegan_ukiyoe
port cartoongan Hayao_net_G_float.pth cartoongan_hayao

# The two sets as folders of links (the originals stay where they are).
for split in val test; do
  csv="$MEPP18/MEPP18$split.csv"
  tr -d '"' < "$csv" | cut -d, -f1 | while read -r f; do
    [ -e "$OUT/sets/$split/$f" ] || ln -s "$IMAGES/$f" "$OUT/sets/$split/$f"
  done
done

# EXTRA_UAP_FLAGS: overrides for a quick run (the test passes --max_passes=1).
"$PY" -m pp_tf.scripts.train_uap --flagfile="$HERE/uap_train.flags" \
    --attacker="$OUT/models/places365_resnet50" --input_dir="$OUT/sets/val" \
    --output_dir="$OUT/uap" --name=uap --logdir="$OUT/uap/tb" ${EXTRA_UAP_FLAGS:-} \
    $( [ -d "$OUT/uap/uap.npy.ckpt" ] && echo --resume )

protect() {  # run name, extra flags...
  "$PY" -m pp_tf.scripts.protect --flagfile="$HERE/$1.flags" --input_dir="$OUT/sets/test" \
      --output_dir="$OUT/protected/$1" "${@:2}"
}
protect center_crop
protect random_crop
protect uap --perturbation="$OUT/uap/uap.npy"
protect cyclegan --generator="$OUT/models/cyclegan_ukiyoe"
protect cartoongan --generator="$OUT/models/cartoongan_hayao"

"$PY" -m pp_tf.scripts.evaluate --input_dir="$OUT/sets/test" \
    --protected_dir="$OUT/protected/center_crop,$OUT/protected/random_crop,$OUT/protected/cyclegan,$OUT/protected/cartoongan,$OUT/protected/uap" \
    --attacker="$OUT/models/places365_resnet50" --nima="$OUT/models/nima" \
    --labels="$MEPP18/MEPP18test.csv" --output_dir="$OUT/report"
