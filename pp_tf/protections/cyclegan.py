"""`cyclegan`: restyle with a CycleGAN ResNet generator (the seed paper's Ukiyo-e style)."""

from pp_tf.protections import _style

PROTECTION = _style.register_style("cyclegan", "restyle with a CycleGAN generator (Ukiyo-e)",
                                   arch="cyclegan_resnet9",
                                   generator="saved_models/cyclegan_ukiyoe")
