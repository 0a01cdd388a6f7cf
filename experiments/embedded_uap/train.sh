#!/usr/bin/env bash
# Recomputes saved_models/uap_efficientnet_lite0_linf10{,_eot}.npy (about 6 + 10 minutes on 2 cores).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
PHOTOS="${1:-$ROOT/runs/embedded_uap/photos}"
[ -d "$PHOTOS" ] || bash "$ROOT/experiments/embedded_uap/fetch_training_photos.sh" "$PHOTOS"
common=(--attacker=efficientnet_lite0 --images="$PHOTOS" --crops_per_photo=24 --xi=10 --norm=inf
        --mode=sgd --max_passes=8 --delta=0.05 --batch_size=32 --seed=0)
"$PY" -m pp_tf.scripts.train_uap "${common[@]}" --output="$ROOT/runs/embedded_uap/plain/uap.npy"
"$PY" -m pp_tf.scripts.train_uap "${common[@]}" --eot --output="$ROOT/runs/embedded_uap/eot/uap.npy"
for kind in plain eot; do
  suffix=""; [ "$kind" = eot ] && suffix="_eot"
  for ext in npy json png; do
    cp "$ROOT/runs/embedded_uap/$kind/uap.$ext" "$ROOT/saved_models/uap_efficientnet_lite0_linf10$suffix.$ext"
  done
done
