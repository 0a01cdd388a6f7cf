#!/usr/bin/env bash
# The training photos of the shipped UAP: 17 natural photos from Debian's opencv-doc
# (OpenCV samples: Apache-2.0 AND BSD-3-Clause per its copyright file), none of which is
# in examples/, so that every bundled photo is held out.
# Usage: bash experiments/embedded_uap/fetch_training_photos.sh DEST
set -euo pipefail
DEST="${1:?destination folder}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$DEST"
(cd "$WORK" && apt-get download opencv-doc >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download opencv-doc; })
dpkg -x "$WORK"/opencv-doc_*.deb "$WORK/x"
EX="$WORK/x/usr/share/doc/opencv-doc/examples"
for f in text/scenetext01.jpg text/scenetext02.jpg text/scenetext03.jpg text/scenetext04.jpg \
         text/scenetext05.jpg text/scenetext06.jpg alphamat/input_images/plant.jpg \
         hfs/data/000.jpg hfs/data/001.jpg hfs/data/002.jpg data/aero3.jpg data/apple.jpg \
         data/board.jpg data/stuff.jpg data/leuvenB.jpg data/ela_original.jpg data/aloeL.jpg; do
  name="$(echo "$f" | tr '/' '_')"
  cp "$EX/$f" "$DEST/$name"
done
ls "$DEST" | wc -l
