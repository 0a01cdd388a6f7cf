"""What the style-transfer methods share: settings and the per-photo function.

Each style method names its own generator (a `port_weights` SavedModel folder,
or an architecture name with `weights`), and runs it the way `stylize` does:
downscaled to `max_side` if asked, then whole or in blended tiles.
"""

from __future__ import annotations

import dataclasses
import os

from pp_tf import models, stylize
from pp_tf.gan import precision as precision_lib
from pp_tf.protections.base import Prepared, Protection, Servable, register
from pp_tf.stylize.generators import PRECISION_HELP


@dataclasses.dataclass(frozen=True)
class StyleSettings(stylize.StylizeConfig):
    """`stylize.StylizeConfig` (max_side, tiles) plus the generator to run."""

    generator: str = ""
    weights: str | None = dataclasses.field(
        default=None, metadata={"help": "Style methods: the published weight file, when "
                                        "--generator is an architecture name."})
    precision: precision_lib.Precision = dataclasses.field(
        default="float32", metadata={"help": f"Style methods. {PRECISION_HELP}"})

    def __post_init__(self):
        super().__post_init__()
        # stacklevel 3: the line that made the settings (through the dataclass's __init__)
        object.__setattr__(self, "precision",
                           precision_lib.check_precision(self.precision, stacklevel=3))
        if not (os.path.isdir(self.generator) or self.generator in models.ARCHITECTURES):
            raise ValueError(f"style methods need a generator: {self.generator!r} is neither a "
                             "SavedModel folder nor a stylizer architecture (port_weights "
                             "writes the folder; the demo prints the command for each style)")


def build(settings: StyleSettings) -> Prepared:
    generate = stylize.load_generator(settings.generator, settings.weights,
                                      precision=settings.precision)

    def apply(photo, _):
        return stylize.stylize_image(generate, stylize.downscale(photo, settings.max_side), settings)

    return Prepared(apply, facts={"generator": settings.generator})


def serving(settings: StyleSettings) -> Servable:
    """The stylizer export's uint8 signature (whole photos; TF Serving has no tiling)."""
    import tensorflow as tf

    loaded = tf.saved_model.load(settings.generator)
    serve = loaded.signatures["serving_default"]
    return Servable(lambda images: serve(images=images)["images"], owned=loaded)


def register_style(name: str, summary: str, arch: str, generator: str) -> Protection:
    """Registers style method `name`: architecture `arch`, whose port_weights export is
    expected in the folder `generator` (its default setting, and the demo's test of
    whether its weights are here)."""
    settings = dataclasses.make_dataclass(
        f"{name.title().replace('_', '')}Settings",
        [("generator", str, dataclasses.field(default=generator, metadata={
            "help": "Style methods: a stylizer SavedModel folder (port_weights), or a "
                    "stylizer architecture name with --weights."}))],
        bases=(StyleSettings,), frozen=True)
    settings.__module__ = __name__
    command = (f"python -m pp_tf.scripts.port_weights --arch={arch} --download "
               f"--trust_on_first_use --output_dir={generator}")
    return register(Protection(name, f"{summary} (weights: {generator})", settings, build,
                               serving, weights_command=command,
                               ready=lambda: os.path.isdir(generator)))
