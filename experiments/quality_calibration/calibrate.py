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
          f"{'worst':>7} {'BRISQUE median':>15} {'worst':>7}")

    def column(values, worst, digits):
        values = np.array([v for v in values if v is not None], float)
        return (f"{np.median(values):>{digits[0]}.{digits[2]}f} "
                f"{worst(values):>{digits[1]}.{digits[2]}f}")

    for name, row in calibration.table(photos).items():
        fullref = (column(row["ssimulacra2"], np.min, (19, 7, 1)) + " "
                   + column(row["gmsd"], np.max, (12, 7, 4))) if "gmsd" in row else " " * 48
        print(f"{name:<16} {fullref} {column(row['brisque'], np.max, (15, 7, 1))}")

if __name__ == "__main__":
    app.run(main)
