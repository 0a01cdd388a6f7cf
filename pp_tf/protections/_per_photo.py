"""What the per-photo protections (`pgd`, `tone_curves`, `color_lut`) share: the settings
they add to their attacks' (the attackers, the working size), the per-file random seed,
and the run of an attack on a photo's working copy against each attacker's label on the
photo itself."""

from __future__ import annotations

import numpy as np

from pp_tf import attacker as attacker_lib
from pp_tf.attacks import fooling, pgd
from pp_tf.protections.base import file_rng

# What the per-photo protections add to their attacks' settings, with one help text each.
ATTACKER_HELP = "Attackers to fool (comma list of architectures, exports or .keras files)."
WORKING_SIZE_HELP = ("Shorter side of the working copy a per-photo attack is optimised on (0: "
                     "pgd, the largest attacker view's resize size; tone_curves and "
                     "color_lut, 128, or 224 with --nima).")


def check_attacker_and_working_size(settings) -> None:
    """Raises ValueError for an empty attacker entry or a negative working size."""
    attacker_lib.split_attacker_spec(settings.attacker)
    if settings.working_size < 0:
        raise ValueError(f"working_size must be >= 0, got {settings.working_size}")


# A served photo has no file name: its random draws are those `protect` gives a file named "".
SERVED_NAME = ""


def photo_seed(seed: int, name: str) -> np.ndarray:
    """An int pair for the stateless random ops, from the run's seed and the file name."""
    return file_rng(seed, name).integers(0, 2 ** 31 - 1, 2)


def attack_working_photo(attack, attackers, photo: np.ndarray, working_side: int, seed: int,
                         name: str, full_views: bool = False):
    """Runs a per-photo attack (`attack(work, labels, seed)`: PGD, the tone curves or the
    colour lookup table) on the working-size copy of `photo` against each attacker's clean top-1
    (its top 5 for the `top5_set` objective) on `photo` itself, which is what an attacker
    sees and what `evaluate` judges against. The working copy's own top-1 can differ: on
    about one photo-attacker pair in ten of the tuning and bundled photos it is the photo's
    second to fifth class (BUILD_NOTES, "Protections": the photo's own label), and an
    attack aimed at it leaves the photo's top-1 in place. With `full_views`, the attack
    also gets each attacker's view of `photo` (`attack(..., views=)`): the colour attacks
    optimise a global colour map through them; a perturbation lives on the working copy
    and cannot.

    Returns:
        (what the attack returns, the manifest's record of the working shape and the
        clean top-1 of every attacker).
    """
    work = pgd.working_photo(photo, working_side)
    views = tuple(attacker.view(photo[None]) for attacker in attackers)
    labels = fooling.view_labels(attackers, views, fooling.labels_per_photo(attack.config.objective))
    extra = {"views": views} if full_views else {}
    result = attack(work, labels, photo_seed(seed, name), **extra)
    record = {"working_shape": [int(n) for n in work.shape[1:3]],
              "clean_top1": {a.name: a.class_names[int(np.ravel(label[0])[0])]
                             for a, label in zip(attackers, labels)}}
    return result, record
