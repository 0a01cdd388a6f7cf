"""Regenerates docs/report.png: a report made from four bundled example photos, shot in
headless Chromium.

  PYTHONPATH=. python docs/make_report_png.py [WORK_DIR]

Runs protect (center_crop; the bundled UAP, tiled and at the crop only) like the
README demo, then evaluate with the embedded attacker (EfficientNet-Lite0). The
UAP runs' protect.json is given `settings["attackers"]` from the UAP's own
record (uap_*.json names the attacker it was trained against), as protect
writes it since the multi-attacker change.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

from pp_tf import protect
from pp_tf.evaluate import EvaluateConfig, run_evaluation

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTOS = ("cat_chelsea.png", "coffee.png", "rocket.jpg", "leuven_street.jpg")
UAP = os.path.join(REPO, "saved_models", "uap_efficientnet_lite0_linf10.npy")
RUNS = (("center_crop", ("center_crop",), "tile"), ("uap", ("uap",), "tile"),
        ("uap_crop_only", ("uap",), "crop"))


def main(work: str) -> None:
    photos = os.path.join(work, "photos")
    os.makedirs(photos, exist_ok=True)
    for name in PHOTOS:
        shutil.copy(os.path.join(REPO, "examples", name), photos)
    made_against = json.load(open(os.path.splitext(UAP)[0] + ".json"))["attacker"]
    folders = []
    for name, methods, placement in RUNS:
        folder = os.path.join(work, "protected", name)
        protect.protect_folder(photos, folder, protect.ProtectConfig(
            methods, perturbation=UAP, placement=placement, overwrite=True), show_progress=False)
        if "uap" in methods:
            manifest_path = os.path.join(folder, "protect.json")
            manifest = json.load(open(manifest_path))
            manifest["settings"]["attackers"] = [made_against]
            json.dump(manifest, open(manifest_path, "w"), indent=2)
        folders.append(folder)
    evaluation = run_evaluation(EvaluateConfig(
        original_dir=photos, protected_dirs=tuple(folders), output_dir=os.path.join(work, "report"),
        run_names=tuple(name for name, _, _ in RUNS), progress=False))
    shot = os.path.join(work, "shot.png")
    subprocess.run(["chromium", "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                    f"--user-data-dir={os.path.join(work, 'profile')}", f"--screenshot={shot}",
                    "--window-size=1280,2300",
                    "file://" + os.path.abspath(evaluation.paths["report.html"])],
                   check=True, capture_output=True, timeout=300)
    image = Image.open(shot).convert("RGB")
    image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(os.path.join(REPO, "docs", "report.png"), optimize=True)
    print(open(evaluation.paths["report.md"]).read())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="pp_tf_report_"))
