"""pp_tf: pixel privacy for photos against automatic scene classifiers (TF2 / Keras 3)."""

__version__ = "0.1.0"
