"""The main job on the embedded default: protect the bundled photos with every
method that needs no downloaded weights, evaluate them with the embedded
attacker (EfficientNet-Lite0, ImageNet), write the report, and say which
methods are waiting for weights and how to get them."""

from __future__ import annotations

import os

from pp_tf import bundled, models, protect, protections
from pp_tf.evaluate import EvaluateConfig, run_evaluation

# The installed copies (package data) or, in a clone, examples/ and saved_models/.
EXAMPLES = bundled.examples_dir()
DEFAULT_UAP = bundled.shipped_perturbation()

# (run name, method chain, setting values beyond the defaults; `perturbation` is added)
RUNS = (
    ("center_crop", ("center_crop",), {}),
    ("random_crop", ("random_crop",), {}),
    ("uap", ("uap",), {"placement": "tile"}),
    ("uap_crop_only", ("uap",), {"placement": "crop"}),
)

NEEDS_WEIGHTS = (
    ("Places365 ResNet50 attacker (the MediaEval 2018 attacker)",
     "python -m pp_tf.scripts.port_weights --arch=places365_resnet50 --download "
     "--trust_on_first_use --output_dir=saved_models/places365_resnet50"),
    ("NIMA aesthetic score",
     "python -m pp_tf.scripts.port_weights --arch=nima_mobilenet --download "
     "--trust_on_first_use --output_dir=saved_models/nima_mobilenet"),
)


def run_demo(output_dir: str, photos: str = EXAMPLES, perturbation: str = DEFAULT_UAP,
             attacker: str = models.DEFAULT_ATTACKER, overwrite: bool = True) -> int:
    """Returns the number of errors (0 on success)."""
    if not os.path.isdir(photos):
        raise FileNotFoundError(f"{photos}: no photo folder (pass --photos)")
    if not os.path.exists(perturbation):
        raise FileNotFoundError(f"{perturbation}: no perturbation (train one with train_uap)")
    # Style methods run too once their weights are there (saved_models/, port_weights).
    runs = RUNS + tuple((p.name, (p.name,), {}) for p in protections.all_protections()
                        if p.weights_command and p.ready())
    errors = 0
    folders = []
    for name, methods, values in runs:
        print(f"== protect: {name}")
        config = protect.ProtectConfig.from_values(
            methods, {**values, "perturbation": perturbation}, overwrite=overwrite)
        folder = os.path.join(output_dir, "protected", name)
        errors += len(protect.protect_folder(photos, folder, config).errors)
        folders.append(folder)
    print("== evaluate")
    result = run_evaluation(EvaluateConfig(photos, tuple(folders), attacker,
                                           output_dir=os.path.join(output_dir, "report"),
                                           run_names=tuple(name for name, _, _ in runs)))
    errors += len(result.errors)
    print(open(result.paths["report.md"], encoding="utf-8").read())
    if os.path.abspath(perturbation) == DEFAULT_UAP:
        print("The UAP was trained on 17 other photos (experiments/embedded_uap): every photo "
              "here is held out.")
    print(f"\nreport: {result.paths['report.html']}")
    print(f"contact sheet: {result.paths['contact_sheet.png']}")
    print("\nNot run here, for want of weights (each command fetches and ports them):")
    waiting = [(f"{p.name}: {p.summary}", p.weights_command)
               for p in protections.all_protections() if p.weights_command and not p.ready()]
    for what, command in NEEDS_WEIGHTS + tuple(waiting):
        print(f"  - {what}:\n      {command}")
    return errors
