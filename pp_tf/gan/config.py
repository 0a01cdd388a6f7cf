"""A GAN training run's settings: the trainer's dataclass, the data, the run.

The trainers' settings (`CycleGANSettings`, `CartoonGANSettings`, both extending
`schedules.AdamSettings`) and `DataConfig` / `RunConfig` here are the only place
a default is written; `TrainConfig` nests them, and `pp_tf.scripts.train_gan`
takes its flags' defaults from their fields (`run_settings.field_default`). Every field's name is
its flag's name, so a checkpoint's settings read as flags (`settings_record`).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from pp_tf.gan.cartoongan_trainer import CartoonGANSettings
from pp_tf.gan.cyclegan_trainer import CycleGANSettings

SETTINGS = {"cyclegan": CycleGANSettings, "cartoongan": CartoonGANSettings}
MODELS = tuple(SETTINGS)
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataConfig:
    """The two image domains: folders (`domain_a`, `domain_b`) or a prepared TFDS dataset."""

    domain_a: str | None = None
    domain_b: str | None = None
    tfds: str | None = None
    tfds_split_a: str = "trainA"
    tfds_split_b: str = "trainB"
    tfds_data_dir: str | None = None
    shuffle_buffer: int = 256
    image_size: int = 256


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Length, batch, seed, outputs and checkpoints of a run."""

    output_dir: str
    logdir: str | None = None
    steps: int = 200_000
    batch_size: int = 1  # global
    seed: int = 0
    deterministic: bool = False
    resume: bool = False
    allow_changed: tuple[str, ...] = ()
    checkpoint_every: int = 1_000
    max_checkpoints: int = 3
    summary_every: int = 100
    # Keras dtype policy the networks are built under (`pp_tf.gan.precision`); changes results.
    precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = "float32"


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


def settings_record(config: TrainConfig) -> dict:
    """The run's settings as one flat mapping of flag name -> value."""
    record = {"model": config.model_name}
    for part in (config.model, config.data, config.run):
        record.update(dataclasses.asdict(part))
    return record
