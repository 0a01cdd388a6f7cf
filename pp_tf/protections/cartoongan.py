"""`cartoongan`: restyle with a CartoonGAN generator (the seed paper's Hayao style)."""

from __future__ import annotations

import dataclasses

from pp_tf.protections import _style
from pp_tf.protections.base import Protection, register

GENERATOR = "saved_models/cartoongan_hayao"


@dataclasses.dataclass(frozen=True)
class CartoonGANStyleSettings(_style.StyleSettings):
    generator: str = _style.generator_field(GENERATOR)


PROTECTION = register(Protection(
    "cartoongan", "restyle with a CartoonGAN generator (Hayao)", CartoonGANStyleSettings, _style.build, _style.serving,
    weights_command=_style.weights_command("cartoongan", GENERATOR),
    ready=_style.folder_exists(GENERATOR)))
