"""MEPP18: the MediaEval 2018 Pixel Privacy task's validation and test sets."""

from __future__ import annotations

import csv
import os

import tensorflow_datasets as tfds

from pp_tf import labels

_IMAGE_FOLDERS = ("val_large", "val_256")  # Places365-Standard validation images, either size
_SPLIT_CSV = {"validation": "MEPP18val.csv", "test": "MEPP18test.csv"}


class Builder(tfds.core.GeneratorBasedBuilder):
    """3,000 + 3,000 Places365-Standard validation images in 60 privacy-sensitive categories."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Put in the manual directory (default ~/tensorflow_datasets/downloads/manual/):
      MEPP18val.csv, MEPP18test.csv   from the multimediaeval/2018-Pixel-Privacy-Task
                                      repository (folder MEPP18labels/);
      val_large/ or val_256/          the Places365-Standard validation images
                                      (Places365_val_00000001.jpg ...), from the
                                      places2 site (val_large.tar or val_256.tar).
    """

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3)),
                "label": tfds.features.ClassLabel(names=labels.places365_class_names()),
                "filename": tfds.features.Text(),
            }),
            supervised_keys=("image", "label"),
            homepage="https://multimediaeval.github.io/2018-Pixel-Privacy-Task/",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual = dl_manager.manual_dir
        images = next((manual / name for name in _IMAGE_FOLDERS if (manual / name).exists()), None)
        if images is None:
            raise FileNotFoundError(f"{manual}: none of {_IMAGE_FOLDERS}; "
                                    f"see MANUAL_DOWNLOAD_INSTRUCTIONS")
        return {split: self._generate_examples(manual / csv_name, images)
                for split, csv_name in _SPLIT_CSV.items()}

    def _generate_examples(self, csv_path, image_dir):
        with csv_path.open() as handle:
            for row in csv.reader(handle):
                if len(row) < 2 or not row[1].strip().isdigit():
                    continue  # header or blank line
                filename = os.path.basename(row[0].strip())
                yield filename, {"image": image_dir / filename, "label": int(row[1]),
                                 "filename": filename}
