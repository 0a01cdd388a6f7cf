"""What the style-transfer methods share: settings and the per-photo function.

Each style method names its own generator (a `port_weights` SavedModel folder,
or an architecture name with `weights`), and runs it the way `stylize` does:
downscaled to `max_side` if asked, then whole or in blended tiles.
"""

from __future__ import annotations

import dataclasses
import os

from pp_tf import models, stylize
from pp_tf.protections.base import Prepared, Servable


@dataclasses.dataclass(frozen=True)
class StyleSettings(stylize.StylizeConfig):
    """`stylize.StylizeConfig` (max_side, tiles) plus the generator to run."""

    generator: str = ""
    weights: str | None = dataclasses.field(
        default=None, metadata={"help": "Style methods: the published weight file, when "
                                        "--generator is an architecture name."})

    def __post_init__(self):
        super().__post_init__()
        if not (os.path.isdir(self.generator) or self.generator in models.ARCHITECTURES):
            raise ValueError(f"style methods need a generator: {self.generator!r} is neither a "
                             "SavedModel folder (port_weights) nor a stylizer architecture")


def build(settings: StyleSettings) -> Prepared:
    generate = stylize.load_generator(settings.generator, settings.weights)

    def apply(photo, _):
        return stylize.stylize_image(generate, stylize.downscale(photo, settings.max_side), settings)

    return Prepared(apply, facts={"generator": settings.generator})


def serving(settings: StyleSettings) -> Servable:
    """The stylizer export's uint8 signature (whole photos; TF Serving has no tiling)."""
    import tensorflow as tf

    loaded = tf.saved_model.load(settings.generator)
    serve = loaded.signatures["serving_default"]
    return Servable(lambda images: serve(images=images)["images"], owned=loaded)


def weights_command(arch: str, folder: str) -> str:
    return (f"python -m pp_tf.scripts.port_weights --arch={arch} --download "
            f"--trust_on_first_use --output_dir={folder}")


def folder_exists(folder: str):
    return lambda: os.path.isdir(folder)


def generator_field(default: str):
    """The `generator` setting of one style method, defaulting to its own weights."""
    return dataclasses.field(default=default, metadata={
        "help": "Style methods: a stylizer SavedModel folder (port_weights), or a stylizer "
                "architecture name with --weights."})
