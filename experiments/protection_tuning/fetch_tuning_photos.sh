#!/usr/bin/env bash
# The tuning photos of the per-photo protections (tone_curves, color_lut, pgd): the 17
# training photos of the shipped UAP (../embedded_uap/fetch_training_photos.sh) and 18 more
# colour photos from Debian's opencv-doc (its samples and its tutorials' sample images:
# Apache-2.0 AND BSD-3-Clause per its copyright file). None is a file of examples/; files
# of opencv-doc that are (aero1, home.jpg, leuvenA, squirrel_cls and others) are left out.
# Two of the 17 show the same scene as a bundled photo from another exposure or viewpoint
# (leuvenB: leuven_street; aero3: aerial_city); BUILD_NOTES says so where it matters.
# Never add the Debian wallpaper sets that the project holds out (the project brief).
# Usage: bash experiments/protection_tuning/fetch_tuning_photos.sh DEST
set -euo pipefail
DEST="${1:?destination folder}"
HERE="$(cd "$(dirname "$0")" && pwd)"
bash "$HERE/../embedded_uap/fetch_training_photos.sh" "$DEST" >/dev/null
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && apt-get download opencv-doc >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download opencv-doc; })
dpkg -x "$WORK"/opencv-doc_*.deb "$WORK/x"
DOC="$WORK/x/usr/share/doc/opencv-doc"
for f in examples/data/messi5.jpg examples/data/chicky_512.png examples/data/basketball1.png \
         examples/data/rubberwhale1.png examples/data/graf1.png \
         examples/data/licenseplate_motion.jpg examples/reg/home.png \
         opencv4/html/227943776_1.jpg opencv4/html/230501201_1.jpg opencv4/html/fsrcnnOutput.jpg \
         opencv4/html/fusion_mertens.jpg opencv4/html/handDst.jpg \
         opencv4/html/pexels_double_decker_bus.jpg opencv4/html/retina_TreeHdr_small.jpg \
         opencv4/html/yolo.jpg opencv4/html/feature_building.jpg opencv4/html/corridor_fld.jpg \
         opencv4/html/detect_test1.jpg; do
  name="$(echo "${f#examples/}" | sed 's|^opencv4/html/|tutorial_|' | tr '/' '_')"
  cp "$DOC/$f" "$DEST/$name"
done
ls "$DEST" | wc -l
