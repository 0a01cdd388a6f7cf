r"""Scores known distortions with the quality measures: median and worst photo of each.

  python experiments/quality_calibration/calibrate.py --input_dir=examples \
      --input_dir=/tmp/tuning

The table in BUILD_NOTES ("Quality measures") is this script's output. Never run it on
the Debian wallpaper sets the project holds out.
"""

import numpy as np
from absl import app, flags

from pp_tf import image_io
from pp_tf.quality import calibration

_INPUT = flags.DEFINE_multi_string("input_dir", None, "Folders of photos.")
flags.mark_flag_as_required("input_dir")


def main(argv):
    del argv
    photos = {path: image_io.read_image(path)
              for folder in _INPUT.value for path in image_io.list_images(folder)}
    print(f"{len(photos)} photos; colour-undone, at half size (shorter side >= 256 px)")
    print(f"{'distortion':<16} {'SSIMULACRA2 median':>19} {'worst':>7} {'GMSD median':>12} "
          f"{'worst':>7}")
    for name, row in calibration.table(photos).items():
        s2, gm = np.array(row["ssimulacra2"]), np.array(row["gmsd"])
        print(f"{name:<16} {np.median(s2):>19.1f} {s2.min():>7.1f} {np.median(gm):>12.4f} "
              f"{gm.max():>7.4f}")


if __name__ == "__main__":
    app.run(main)
