r"""Does a UAP trained on a small folder change classifiers' decisions on photos it never saw?

Trains with `train_uap`'s DEFAULT flags (only --attacker, --input_dir and --output_dir given)
unless --perturbations names finished ones, then protects every held-out photo at
full resolution through pp_tf's placement (`apply_perturbation`, tile, with the view
recorded in the perturbation's .json) and reports, per evaluated attacker:

* top-1 changed: the protected photo's top-1 differs from the clean photo's;
* gone from top-5: the clean top-1 is not among the protected photo's top 5;

beside the control `random_sign`: uniform random +-xi signs in the same view, placed
the same way (the L-inf norm of the UAP; seeds 0..--noise_seeds-1, averaged).

  # item 1 of issue 11: Lite0, default flags, 20 photos of examples/, held out: opencv-doc
  bash experiments/embedded_uap/fetch_training_photos.sh /tmp/opencv_photos
  .venv/bin/python benchmarks/uap_heldout.py --train_attacker=efficientnet_lite0 \
      --train_images=examples --eval_photos=/tmp/opencv_photos \
      --eval_attackers=efficientnet_lite0
  # finished perturbations (no training), e.g. the shipped ones on examples/:
  .venv/bin/python benchmarks/uap_heldout.py --perturbations=saved_models/uap_x.npy \
      --eval_photos=examples \
      --eval_attackers=efficientnet_lite0,efficientnet_lite1,efficientnet_lite2
"""

import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from pp_tf import image_io  # noqa: E402
from pp_tf.attacker import load_attackers  # noqa: E402
from pp_tf.perturbation import apply_perturbation  # noqa: E402
from pp_tf.protections.uap import load_perturbation  # noqa: E402

_TRAIN_ATTACKER = flags.DEFINE_string("train_attacker", "efficientnet_lite0",
                                      "--attacker of the train_uap run (default flags).")
_TRAIN_IMAGES = flags.DEFINE_string("train_images", "examples", "--input_dir of the train_uap run.")
_EXTRA = flags.DEFINE_list("train_flags", [], "Extra train_uap flags (default: none).")
_PERTURBATIONS = flags.DEFINE_list("perturbations", [],
                                   "Finished .npy files to evaluate instead of training.")
_EVAL_PHOTOS = flags.DEFINE_string("eval_photos", None, "Held-out photo folder.")
_EVAL_ATTACKERS = flags.DEFINE_list("eval_attackers", ["efficientnet_lite0"],
                                    "Classifiers to evaluate on.")
_OUT = flags.DEFINE_string("output_dir", "runs/uap_heldout", "Where a trained UAP is written.")
_NOISE_SEEDS = flags.DEFINE_integer("noise_seeds", 3, "random_sign draws averaged.")
flags.mark_flag_as_required("eval_photos")


def train() -> str:
    output = os.path.abspath(os.path.join(_OUT.value, "uap.npy"))
    if os.path.isdir(output + ".ckpt"):
        raise SystemExit(f"{output}.ckpt exists: an interrupted run; delete it")
    command = [sys.executable, "-m", "pp_tf.scripts.train_uap",
               f"--attacker={_TRAIN_ATTACKER.value}", f"--input_dir={_TRAIN_IMAGES.value}",
               f"--output_dir={os.path.dirname(output)}", "--name=uap", *_EXTRA.value]
    print("$", " ".join(command), flush=True)
    start = time.time()
    subprocess.run(command, check=True)
    print(f"trained in {time.time() - start:.0f} s", flush=True)
    return output


def top5(attacker, photo) -> np.ndarray:
    probabilities = attacker.predict(attacker.view(photo[None]).numpy())[0]
    return np.argsort(-probabilities)[:5]


def evaluate(attackers, photos, v, view) -> dict:
    out = {}
    for attacker in attackers:
        changed, gone = [], []
        for photo in photos:
            clean = top5(attacker, photo)
            protected = top5(attacker, apply_perturbation(photo, v, "tile", 1.0, view))
            changed.append(protected[0] != clean[0])
            gone.append(clean[0] not in protected)
        out[attacker.name] = (float(np.mean(changed)), float(np.mean(gone)), int(np.sum(changed)))
    return out


def main(argv):
    del argv
    paths = _PERTURBATIONS.value or [train()]
    attackers = load_attackers(_EVAL_ATTACKERS.value)
    photo_paths = image_io.list_images(_EVAL_PHOTOS.value)
    photos = [image_io.read_image(p) for p in photo_paths]
    print(f"{len(photos)} held-out photos from {_EVAL_PHOTOS.value}, full resolution, "
          f"tile placement; load average {os.getloadavg()[0]:.1f}")
    print(f"{'perturbation':40s} {'attacker':20s} {'top-1 changed':>14s} {'gone top-5':>11s}"
          f" {'noise top-1':>12s} {'noise top-5':>12s}")
    results = {}
    for path in paths:
        loaded = load_perturbation(path)
        xi = float(np.abs(loaded.values).max())
        facts = json.load(open(os.path.splitext(path)[0] + ".json"))
        xi_config = float(facts.get("settings", {}).get("xi", xi))
        uap_rates = evaluate(attackers, photos, loaded.values, loaded.view)
        noise = {a.name: np.zeros(2) for a in attackers}
        for seed in range(_NOISE_SEEDS.value):
            sign = np.random.default_rng(seed).choice([-xi_config, xi_config],
                                                      loaded.values.shape).astype(np.float32)
            for name, (c, g, _) in evaluate(attackers, photos, sign, loaded.view).items():
                noise[name] += np.array([c, g]) / _NOISE_SEEDS.value
        for attacker in attackers:
            c, g, count = uap_rates[attacker.name]
            nc, ng = noise[attacker.name]
            print(f"{os.path.basename(path):40s} {attacker.name:20s} "
                  f"{c:8.0%} ({count:2d}/{len(photos)}) {g:11.0%} {nc:12.0%} {ng:12.0%}")
            results[f"{path}:{attacker.name}"] = {"top1_changed": c, "gone_top5": g,
                                                  "noise_top1_changed": nc, "noise_gone_top5": ng}
        print(f"  ({path}: L-inf {xi:.2f}, trained against {facts.get('attacker')}, "
              f"best pass {facts.get('best_pass')}, selection rate "
              f"{facts.get('fooling_rate')})")
    print(json.dumps(results))


if __name__ == "__main__":
    app.run(main)
