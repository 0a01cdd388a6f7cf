"""A GAN training run's settings: the trainer's dataclass, the data, the run.

The trainers' settings (`CycleGANSettings`, `CartoonGANSettings`, both extending
`schedules.AdamSettings`) and `DataConfig` / `RunConfig` here are the only place
a default is written; `TrainConfig` nests them, and `pp_tf.scripts.train_gan`
makes its flags from their fields (`pp_tf.scripts.cli.define_flags`: default and help as
written here). Every field's name is its flag's name, so a checkpoint's settings read as
flags (`settings_record`).
"""

from __future__ import annotations

import dataclasses

from pp_tf.gan.cartoongan_trainer import CartoonGANSettings
from pp_tf.gan.cyclegan_trainer import CycleGANSettings
from pp_tf.gan.precision import PRECISIONS, Precision
from pp_tf.settings import setting

SETTINGS = {"cyclegan": CycleGANSettings, "cartoongan": CartoonGANSettings}
MODELS = tuple(SETTINGS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataConfig:
    """The two image domains: folders (`domain_a`, `domain_b`) or a prepared TFDS dataset."""

    domain_a: str | None = setting(None, "Folder of domain A images (CartoonGAN: photos).")
    domain_b: str | None = setting(None, "Folder of domain B images (CartoonGAN: cartoons).")
    tfds: str | None = setting(None, "Prepared TFDS dataset, e.g. cycle_gan/ukiyoe2photo.")
    tfds_split_a: str = setting("trainA", "TFDS split of domain A.")
    tfds_split_b: str = setting("trainB", "TFDS split of domain B.")
    tfds_data_dir: str | None = setting(None, "TFDS data_dir.")
    shuffle_buffer: int = setting(256, "Shuffle buffer of TFDS images.")
    image_size: int = setting(256, "Training crop size (divisible by 4).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Length, batch, seed, outputs and checkpoints of a run."""

    output_dir: str = setting(dataclasses.MISSING, "Checkpoints, train_gan.json and the final "
                                                   "*.weights.h5.")
    logdir: str | None = setting(None, "TensorBoard folder (scalars and images).")
    steps: int = setting(200_000, "Training steps in all.")
    batch_size: int = setting(1, "Global batch size (all replicas together).")
    seed: int = setting(0, "Seed of the data order, augmentation, pools and init.")
    deterministic: bool = setting(False, "tf.config.experimental.enable_op_determinism().")
    resume: bool = setting(False, "Continue from the newest valid checkpoint, with the same "
                                  "settings.")
    allow_changed: tuple[str, ...] = setting((), "With --resume: settings allowed to differ "
                                                 "from the checkpoint's (recorded).")
    checkpoint_every: int = setting(1_000, "Steps between checkpoints.")
    max_checkpoints: int = setting(3, "Checkpoints kept (at least 2).")
    summary_every: int = setting(100, "Steps between TensorBoard summaries.")
    # The Keras dtype policy the networks are built under (`pp_tf.gan.precision`).
    precision: Precision = setting(
        "float32", "Keras dtype policy of the networks: float32, or mixed_float16 (with "
                   "dynamic loss scaling) / mixed_bfloat16; losses, pools and saved weights "
                   "stay float32.")


# Settings that cannot change what a run computes: they may differ on --resume.
FREE_SETTINGS = frozenset({"output_dir", "logdir", "resume", "allow_changed", "checkpoint_every",
                           "max_checkpoints", "summary_every", "steps"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything a run needs; `model` is the trainer's settings (its type picks the trainer)."""

    model: CycleGANSettings | CartoonGANSettings
    run: RunConfig
    data: DataConfig = dataclasses.field(default_factory=DataConfig)

    def __post_init__(self):
        if self.run.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, "
                             f"got {self.run.precision!r}")
        if type(self.model) not in SETTINGS.values():
            raise ValueError(f"model settings must be one of "
                             f"{', '.join(c.__name__ for c in SETTINGS.values())}, "
                             f"got {type(self.model).__name__}")

    @property
    def model_name(self) -> str:
        return next(name for name, cls in SETTINGS.items() if type(self.model) is cls)


def default_settings(config: TrainConfig) -> dict:
    """What a checkpoint that lacks a setting (written before the setting existed) is taken
    to have run with: every default of the run's dataclasses."""
    return {field.name: field.default
            for part in (type(config.model), DataConfig, RunConfig)
            for field in dataclasses.fields(part) if field.default is not dataclasses.MISSING}


def settings_record(config: TrainConfig) -> dict:
    """The run's settings as one flat mapping of flag name -> value."""
    record = {"model": config.model_name}
    for part in (config.model, config.data, config.run):
        record.update(dataclasses.asdict(part))
    return record
