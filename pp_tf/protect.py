"""Protecting a folder of photos with one method or a chain of them.

The methods are the entries of `pp_tf.protections` (one module each);
`pp_tf.protections.names()` lists them. A chain runs in the order given:
`cartoongan,uap` (style, then UAP) is the seed paper's future work. Each method
of a chain has its own settings (`ProtectConfig.settings`, by method name;
defaults where absent).

The batch policy is `pp_tf.batch`'s: every photo is tried, a bad one is named
(stderr, `errors.json`) and the run goes on, outputs are written atomically in
the input's format without metadata, inputs are never modified, existing
outputs are kept unless `overwrite`, and the caller exits non-zero if anything
failed. The manifest `protect.json` records the chain, every method's
settings, the attackers the methods were made against, and per-photo facts.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from pp_tf import batch, protections


@dataclasses.dataclass(frozen=True)
class ProtectConfig:
    """A chain of methods and each one's settings.

    Attributes:
        methods: registered method names, applied in order.
        settings: {method name: its settings dataclass}; a method without an
            entry runs with its defaults.
        overwrite: replace existing outputs.
        jpeg_quality: quality of JPEG and WebP outputs.
    """

    methods: tuple[str, ...]
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    overwrite: bool = False
    jpeg_quality: int = 95

    def __post_init__(self):
        if not self.methods:
            raise ValueError(f"methods must be a non-empty list from {protections.names()}")
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"a method appears twice in the chain {self.methods}")
        resolved = {}
        for name in self.methods:
            protection = protections.get(name)  # raises for an unknown name
            given = self.settings.get(name)
            if given is None:
                given = protection.settings()  # validates the defaults
            elif not isinstance(given, protection.settings):
                raise TypeError(f"settings of {name} must be {protection.settings.__name__}, "
                                f"got {type(given).__name__}")
            resolved[name] = given
        unused = set(self.settings) - set(self.methods)
        if unused:
            raise ValueError(f"settings given for methods not in the chain: {sorted(unused)}")
        object.__setattr__(self, "settings", resolved)

    @classmethod
    def from_values(cls, methods, values: Mapping[str, Any] | None = None,
                    **options) -> "ProtectConfig":
        """A config from flat setting values (flags): each method takes the ones it has."""
        methods = tuple(methods)
        settings = {name: protections.get(name).make_settings(dict(values or {}))
                    for name in methods}
        return cls(methods, settings, **options)

    def describe(self) -> dict:
        return {"methods": list(self.methods),
                "settings": {name: dataclasses.asdict(s) for name, s in self.settings.items()},
                "overwrite": self.overwrite, "jpeg_quality": self.jpeg_quality}


def prepare_chain(config: ProtectConfig) -> list[protections.Prepared]:
    """Each method of the chain, ready to run (weights and perturbations loaded once)."""
    return [protections.get(name).build(config.settings[name]) for name in config.methods]


def protect_folder(input_dir: str, output_dir: str, config: ProtectConfig,
                   show_progress: bool = True) -> batch.BatchLog:
    """Applies `config.methods` to every photo of `input_dir`, writing to `output_dir`."""
    run = batch.FolderRun("protect", input_dir, output_dir, overwrite=config.overwrite,
                          jpeg_quality=config.jpeg_quality, progress=show_progress)
    chain = prepare_chain(config)

    def process(task: batch.Task, photo):
        context = protections.PhotoContext(task.name)
        for prepared in chain:
            photo = prepared.apply(photo, context)
        return photo, context.record

    run.run_each(process)
    attackers = sorted({name for prepared in chain for name in prepared.attackers})
    settings = {**config.describe(), "attackers": attackers,
                "facts": {name: prepared.facts for name, prepared in zip(config.methods, chain)
                          if prepared.facts}}
    return run.finish(settings)
