"""The MEPP18 TFDS builder against its dummy data (a manual-download layout)."""

import os

import numpy as np
import tensorflow_datasets as tfds

from pp_tf import labels
from pp_tf.datasets import mepp18, views

DUMMY = os.path.join(os.path.dirname(mepp18.__file__), "dummy_data")


class Mepp18Test(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = mepp18.Builder
    EXAMPLE_DIR = DUMMY
    SPLITS = {"validation": 3, "test": 2}


def test_labels_and_filenames_come_from_the_csv(tmp_path):
    builder = mepp18.Builder(data_dir=str(tmp_path))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=DUMMY))
    examples = list(tfds.as_numpy(builder.as_dataset(split="validation")))
    by_name = {e["filename"].decode(): e for e in examples}
    assert {n: int(e["label"]) for n, e in by_name.items()} == {
        "Places365_val_00000013.jpg": 49, "Places365_val_00000015.jpg": 70,
        "Places365_val_00000016.jpg": 168}
    assert builder.info.features["label"].int2str(49) == "beach_house"
    assert set(int(e["label"]) for e in examples) <= set(labels.mepp18_sensitive_indices())
    assert by_name["Places365_val_00000013.jpg"]["image"].shape == (8, 10, 3)
    # The same data through the loader the scripts use (--tfds=mepp18:test).
    pixels, keys = views.load_tfds_views("mepp18:test", data_dir=str(tmp_path))
    assert pixels.shape == (2, 224, 224, 3) and np.isfinite(pixels).all()
    assert sorted(keys) == ["Places365_val_00000018.jpg", "Places365_val_00000023.jpg"]
