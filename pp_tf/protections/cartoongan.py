"""`cartoongan`: restyle with a CartoonGAN generator (the seed paper's Hayao style)."""

from pp_tf.protections import _style

PROTECTION = _style.register_style("cartoongan", "restyle with a CartoonGAN generator (Hayao)",
                                   arch="cartoongan", generator="saved_models/cartoongan_hayao")
