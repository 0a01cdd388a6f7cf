"""`cyclegan`: restyle with a CycleGAN ResNet generator (the seed paper's Ukiyo-e style)."""

from __future__ import annotations

import dataclasses

from pp_tf.protections import _style
from pp_tf.protections.base import Protection, register

GENERATOR = "saved_models/cyclegan_ukiyoe"


@dataclasses.dataclass(frozen=True)
class CycleGANStyleSettings(_style.StyleSettings):
    generator: str = _style.generator_field(GENERATOR)


PROTECTION = register(Protection(
    "cyclegan", "restyle with a CycleGAN generator (Ukiyo-e)", CycleGANStyleSettings, _style.build, _style.serving,
    weights_command=_style.weights_command("cyclegan_resnet9", GENERATOR),
    ready=_style.folder_exists(GENERATOR)))
