"""Regenerates docs/report.png: the top of the README demo's report, shot in headless
Chromium.

  python -m pp_tf.scripts.demo --output_dir=demo_out
  python docs/make_report_png.py demo_out/report/report.html
"""

import os
import subprocess
import sys
import tempfile

from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(report_html: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pp_tf_shot_") as work:
        shot = os.path.join(work, "shot.png")
        subprocess.run(["chromium", "--headless", "--disable-gpu", "--no-sandbox",
                        "--hide-scrollbars", f"--user-data-dir={os.path.join(work, 'profile')}",
                        f"--screenshot={shot}", "--window-size=1280,2600",
                        "file://" + os.path.abspath(report_html)],
                       check=True, capture_output=True, timeout=300)
        image = Image.open(shot).convert("RGB")
    image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(os.path.join(REPO, "docs", "report.png"), optimize=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join("demo_out", "report", "report.html"))
