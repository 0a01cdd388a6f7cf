"""The main job on the embedded defaults: protect the bundled photos with every
method that needs no downloaded weights, evaluate them with three real ImageNet
attackers (EfficientNet-Lite0 and Lite1, which the protections are made against,
and Lite2, which none of them has seen), write the report, and say which methods
are waiting for weights and how to get them.

It leads with the recommended default, `protect`'s `auto` (`protect.RECOMMENDED`), and
every run passes the quality gate (`protect.ProtectConfig.min_quality`): the report shows
what each method keeps of its protection within it, and the contact sheet 100% crops of
each photo's smoothest and most textured regions.

The per-photo methods (`auto`, `tone_curves`, `color_lut`) cost seconds per photo on
a CPU, so they run on the first `per_photo_limit` photos only; their rows say how many.
"""

from __future__ import annotations

import os
import shutil

from pp_tf import bundled, deprecation, image_io, models, protect, protections
from pp_tf.evaluate import EvaluateConfig, run_evaluation

# The installed copies (package data) or, in a clone, examples/ and saved_models/.
EXAMPLES = bundled.examples_dir()
DEFAULT_UAP = bundled.shipped_perturbation()
EOT_UAP = bundled.shipped_perturbation(bundled.DEFAULT_PERTURBATION + "_eot")
# Three photos: with four, pgd, tone_curves and color_lut took the demo to 5 min on the
# 2-core machine.
PER_PHOTO_LIMIT = 3

# (run name, method chain, setting values beyond the defaults); runs without their own
# `perturbation` take run_demo's. The noise runs are the controls of the UAPs (xi 10)
# and of PGD (xi 8).
RUNS = (
    ("center_crop", ("center_crop",), {}),
    ("random_crop", ("random_crop",), {}),
    ("uap", ("uap",), {"placement": "tile"}),
    ("uap_crop_only", ("uap",), {"placement": "crop"}),
    ("uap_eot", ("uap",), {"perturbation": EOT_UAP}),
    ("noise_xi10", ("noise",), {"xi": 10.0}),
    ("noise_xi8", ("noise",), {"xi": 8.0}),
)
# Per-photo attacks against the trained attackers, on the first PER_PHOTO_LIMIT photos.
PER_PHOTO_RUNS = (
    ("auto", (protect.AUTO,), {}),
    ("tone_curves", ("tone_curves",), {"attacker": models.TRAINED_ATTACKERS}),
    ("color_lut", ("color_lut",), {"attacker": models.TRAINED_ATTACKERS}),
)

NEEDS_WEIGHTS = (
    ("Places365 ResNet50 attacker (the MediaEval 2018 attacker)",
     "python -m pp_tf.scripts.port_weights --arch=places365_resnet50 --download "
     "--trust_on_first_use --output_dir=saved_models/places365_resnet50"),
    ("NIMA aesthetic score",
     "python -m pp_tf.scripts.port_weights --arch=nima_mobilenet --download "
     "--trust_on_first_use --output_dir=saved_models/nima_mobilenet"),
)


def sample_folder(photos: str, folder: str, limit: int) -> str:
    """A folder holding copies of the first `limit` photos of `photos` (by name)."""
    os.makedirs(folder, exist_ok=True)
    for path in image_io.list_images(photos)[:limit]:
        target = os.path.join(folder, os.path.basename(path))
        if not os.path.exists(target):
            shutil.copyfile(path, target)
    return folder


def run_demo(output_dir: str, photos: str = EXAMPLES, perturbation: str = DEFAULT_UAP,
             attacker: str = models.EVALUATED_ATTACKERS,
             per_photo_limit: int = PER_PHOTO_LIMIT, overwrite: bool = True) -> int:
    """Returns the number of errors (0 on success)."""
    if not os.path.isdir(photos):
        raise FileNotFoundError(f"{photos}: no photo folder (pass --input_dir)")
    if not os.path.exists(perturbation):
        raise FileNotFoundError(f"{perturbation}: no perturbation (train one with train_uap)")
    sample = sample_folder(photos, os.path.join(output_dir, "per_photo_sample"),
                           per_photo_limit)
    # Style methods run too once their weights are there (saved_models/, port_weights).
    runs = [(name, methods, values, sample) for name, methods, values in PER_PHOTO_RUNS
            if per_photo_limit > 0]
    runs += [(name, methods, values, photos) for name, methods, values in RUNS]
    runs += [(p.name, (p.name,), {}, photos) for p in protections.all_protections()
             if p.weights_command and p.ready()]
    errors = 0
    folders = []
    for name, methods, values, source in runs:
        print(f"== protect: {name}" + (f" (first {per_photo_limit} photos)"
                                       if source == sample else ""))
        config = protect.ProtectConfig.from_values(
            methods, {"perturbation": perturbation, **values}, overwrite=overwrite)
        folder = os.path.join(output_dir, "protected", name)
        errors += len(protect.protect_folder(source, folder, config).errors)
        folders.append(folder)
    print("== evaluate")
    result = run_evaluation(EvaluateConfig(
        original_dir=photos, protected_dirs=tuple(folders), attacker=attacker,
        output_dir=os.path.join(output_dir, "report"),
        run_names=tuple(name for name, *_ in runs), partial_runs=True))
    errors += len(result.errors)
    print(open(result.paths["report.md"], encoding="utf-8").read())
    if os.path.abspath(perturbation) == DEFAULT_UAP:
        print("The UAPs were trained on 17 other photos (experiments/embedded_uap): every photo "
              "here is held out.")
    print(f"\nreport: {result.paths['report.html']}")
    print(f"contact sheet: {result.paths['contact_sheet.png']}")
    print("\nNot run here, for want of weights (each command fetches and ports them):")
    waiting = [(f"{p.name}: {p.summary}", p.weights_command)
               for p in protections.all_protections() if p.weights_command and not p.ready()]
    for what, command in NEEDS_WEIGHTS + tuple(waiting):
        print(f"  - {what}:\n      {command}")
    return errors


# The attacker lists have one home, next to the architectures they name.
__getattr__ = deprecation.moved(__name__, {"TRAINED_ATTACKERS": "pp_tf.models:TRAINED_ATTACKERS",
                                           "UNSEEN_ATTACKER": "pp_tf.models:UNSEEN_ATTACKERS"})
