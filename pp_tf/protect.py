"""Protecting a folder of photos with one method or a chain of them.

Methods (each maps an RGB uint8 photo to an RGB uint8 photo):
* `center_crop`: keep the centred `crop_fraction` of each side;
* `random_crop`: keep a `crop_fraction` window at a random (seeded) position;
* `uap`: add a universal adversarial perturbation (`perturbation.npy`);
* `cyclegan`, `cartoongan`: restyle with a generator SavedModel.

Chains run in the order given: `style, uap` is the seed paper's future work.
Batch policy: every photo is tried; a bad one is reported (stderr and
`errors.json`) and the run goes on; outputs are written atomically in the
input's format without metadata; inputs are never modified; an existing output
is kept unless `overwrite` (so a re-run after an interruption finishes the
remaining photos); the caller exits non-zero if anything failed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import zlib
from typing import Callable

import numpy as np

from pp_tf import image_io
from pp_tf import perturbation as perturbation_lib

Method = Callable[[np.ndarray, str], np.ndarray]  # (photo, file name) -> photo
METHODS = ("center_crop", "random_crop", "uap", "cyclegan", "cartoongan")


@dataclasses.dataclass(frozen=True)
class ProtectConfig:
    methods: tuple[str, ...]
    crop_fraction: float = 0.8
    perturbation: str | None = None
    placement: str = "tile"
    strength: float = 1.0
    generator: str | None = None
    seed: int = 0
    overwrite: bool = False
    jpeg_quality: int = 95

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in METHODS]
        if not self.methods or unknown:
            raise ValueError(f"methods must be a non-empty list from {METHODS}, got {self.methods}")
        if not 0 < self.crop_fraction <= 1:
            raise ValueError(f"crop_fraction must be in (0, 1], got {self.crop_fraction}")
        if "uap" in self.methods and not self.perturbation:
            raise ValueError("method uap needs a perturbation (.npy from train_uap)")
        styles = [m for m in self.methods if m in ("cyclegan", "cartoongan")]
        if styles and not self.generator:
            raise ValueError("style methods need a generator (SavedModel from port_weights)")
        if len(styles) > 1:
            raise ValueError(f"one style method per run (one --generator), got {styles}")


def center_crop(photo: np.ndarray, fraction: float) -> np.ndarray:
    height, width = photo.shape[:2]
    h, w = max(int(round(height * fraction)), 1), max(int(round(width * fraction)), 1)
    top, left = (height - h) // 2, (width - w) // 2
    return photo[top:top + h, left:left + w].copy()


def random_crop(photo: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    height, width = photo.shape[:2]
    h, w = max(int(round(height * fraction)), 1), max(int(round(width * fraction)), 1)
    top = int(rng.integers(0, height - h + 1))
    left = int(rng.integers(0, width - w + 1))
    return photo[top:top + h, left:left + w].copy()


def build_method(name: str, config: ProtectConfig) -> Method:
    """One method as a function of (photo, file name); randomness is seeded per file."""
    if name == "center_crop":
        return lambda photo, _: center_crop(photo, config.crop_fraction)
    if name == "random_crop":
        def crop(photo, file_name):
            # A per-file seed: the same photo gets the same crop on a re-run.
            rng = np.random.default_rng([config.seed, zlib.crc32(file_name.encode())])
            return random_crop(photo, config.crop_fraction, rng)
        return crop
    if name == "uap":
        v = np.load(config.perturbation, allow_pickle=False).astype(np.float32)
        if v.ndim != 3 or v.shape[-1] != 3:
            raise ValueError(f"{config.perturbation}: expected a [h, w, 3] perturbation, got {v.shape}")
        return lambda photo, _: perturbation_lib.apply_perturbation(
            photo, v, config.placement, config.strength)
    from pp_tf import stylize  # style methods need the generator; imported on demand

    generate = stylize.load_generator(config.generator)
    tiling = stylize.StylizeConfig()
    return lambda photo, _: stylize.stylize_image(generate, photo, tiling)


@dataclasses.dataclass
class BatchReport:
    written: list = dataclasses.field(default_factory=list)
    skipped_existing: list = dataclasses.field(default_factory=list)
    errors: list = dataclasses.field(default_factory=list)  # {"file", "reason"}

    @property
    def ok(self) -> bool:
        return not self.errors


def record_error(report: BatchReport, path: str, reason: str) -> None:
    report.errors.append({"file": path, "reason": reason})
    print(f"error: {path}: {reason}", file=sys.stderr)


def write_errors_file(output_dir: str, report: BatchReport) -> None:
    image_io.write_bytes_atomic(json.dumps(report.errors, indent=2, ensure_ascii=False).encode(),
                                os.path.join(output_dir, "errors.json"), overwrite=True)


def protect_folder(input_dir: str, output_dir: str, config: ProtectConfig,
                   show_progress: bool = True) -> BatchReport:
    """Applies `config.methods` to every photo of `input_dir`, writing to `output_dir`."""
    image_io.check_output_dir([input_dir], output_dir)
    os.makedirs(output_dir, exist_ok=True)
    image_io.clean_temporaries(output_dir)
    chain = [build_method(name, config) for name in config.methods]
    report = BatchReport()
    paths = image_io.list_images(input_dir)
    if show_progress:
        from tqdm import tqdm

        paths = tqdm(paths, unit="photo", desc="protect", dynamic_ncols=True)
    for path in paths:
        name = os.path.basename(path)
        try:
            try:
                fmt = image_io.image_format(path)
            except image_io.ImageError:
                fmt = None  # read_image below reports why
            target = os.path.join(output_dir, image_io.output_name(path, fmt))
            if os.path.exists(target) and not config.overwrite:
                report.skipped_existing.append(target)
                continue
            photo = image_io.read_image(path)
            for method in chain:
                photo = method(photo, name)
            image_io.write_image(photo, target, fmt, overwrite=config.overwrite,
                                 protected=[path], jpeg_quality=config.jpeg_quality)
            report.written.append(target)
        except image_io.ImageError as error:
            record_error(report, path, error.reason)
        except Exception as error:  # noqa: BLE001 - one bad photo must not stop the batch
            record_error(report, path, f"{type(error).__name__}: {error}")
    if report.skipped_existing:
        print(f"kept {len(report.skipped_existing)} existing outputs (pass --overwrite to "
              "replace them)", file=sys.stderr)
    manifest = {"settings": dataclasses.asdict(config), "input_dir": os.path.abspath(input_dir),
                "written": len(report.written), "errors": len(report.errors)}
    image_io.write_bytes_atomic(json.dumps(manifest, indent=2).encode(),
                                os.path.join(output_dir, "protect.json"), overwrite=True)
    write_errors_file(output_dir, report)
    return report
