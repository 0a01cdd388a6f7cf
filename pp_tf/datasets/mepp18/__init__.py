"""TFDS builder of the MediaEval 2018 Pixel Privacy sets (MEPP18val, MEPP18test)."""

from pp_tf.datasets.mepp18.mepp18_dataset_builder import Builder

__all__ = ["Builder"]
