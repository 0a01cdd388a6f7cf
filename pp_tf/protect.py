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

Every output passes the quality gate (`pp_tf.quality.gate`): a chain's result that
scores below `min_quality` (colour-undone SSIMULACRA2) is taken back towards the
original until it meets it, and each photo's record says how far (`quality`). A photo
taken back is checked against the attackers its methods loaded: `quality.fooled` says,
per attacker, whether the original top-1 left the top 5, and a photo no attacker is
fooled by any more is named on stderr as not protected within the gate. The record
also holds `brisque` and `brisque_original`: the output's (as written) and the original's
no-reference naturalness (`pp_tf.quality.brisque`; lower is more natural).
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Mapping

import numpy as np

from pp_tf import batch, image_io, metrics, protections
from pp_tf.quality import gate, measures

AUTO = "auto"
# What `auto` (protect's default) runs: the method that protects most within the quality
# gate on the bundled and tuning photos (BUILD_NOTES, "Protection within the quality gate").
RECOMMENDED = ("pgd",)


def resolve_methods(methods) -> tuple[str, ...]:
    """`methods` with `auto` replaced by the recommended chain, and a renamed method by its
    current name (`protections.current_name`)."""
    return tuple(protections.current_name(name) for method in methods
                 for name in (RECOMMENDED if method == AUTO else (method,)))


@dataclasses.dataclass(frozen=True)
class ProtectConfig:
    """A chain of methods and each one's settings.

    Attributes:
        methods: registered method names, applied in order; `auto` stands for the
            recommended chain (`RECOMMENDED`).
        settings: {method name: its settings dataclass}; a method without an
            entry runs with its defaults.
        overwrite: replace existing outputs.
        jpeg_quality: quality of JPEG and WebP outputs.
        min_quality: the quality gate's floor, colour-undone SSIMULACRA2 per photo (0: off;
            `pp_tf.quality.gate`).
    """

    methods: tuple[str, ...]
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    overwrite: bool = False
    jpeg_quality: int = 95
    min_quality: float = gate.DEFAULT

    def __post_init__(self):
        gate.QualityGate(self.min_quality)  # validates it
        object.__setattr__(self, "methods", resolve_methods(self.methods))
        object.__setattr__(self, "settings", {protections.current_name(name): given
                                              for name, given in self.settings.items()})
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
        methods = resolve_methods(methods)
        settings = {name: protections.get(name).make_settings(dict(values or {}))
                    for name in methods}
        return cls(methods, settings, **options)

    def describe(self) -> dict:
        return {"methods": list(self.methods),
                "settings": {name: dataclasses.asdict(s) for name, s in self.settings.items()},
                "overwrite": self.overwrite, "jpeg_quality": self.jpeg_quality,
                "min_quality": self.min_quality}


def prepare_chain(config: ProtectConfig) -> list[protections.Prepared]:
    """Each method of the chain, ready to run (weights and perturbations loaded once)."""
    return [protections.get(name).build(config.settings[name]) for name in config.methods]


def protect_folder(input_dir: str, output_dir: str, config: ProtectConfig,
                   show_progress: bool = True) -> batch.BatchLog:
    """Applies `config.methods` to every photo of `input_dir`, writing to `output_dir`."""
    run = batch.FolderRun("protect", input_dir, output_dir, overwrite=config.overwrite,
                          jpeg_quality=config.jpeg_quality, progress=show_progress)
    for name in config.methods:
        if protections.get(name).experiment:
            print(f"note: {name} is {protections.get(name).experiment}", file=sys.stderr)
    chain = prepare_chain(config)
    quality_gate = gate.QualityGate(config.min_quality)
    models = {model.name: model for prepared in chain for model in prepared.models}
    unprotected = []

    def process(task: batch.Task, original):
        context = protections.PhotoContext(task.name)
        photo = original
        for prepared in chain:
            photo = prepared.apply(photo, context)
        photo, quality, written = gate.hold(original, photo, quality_gate,
                                            image_io.AsSaved(task.fmt, config.jpeg_quality))
        quality["brisque"], quality["brisque_original"] = (
            measures.naturalness(written), measures.naturalness(original))
        if quality.get("strength", 1.0) < 1.0 and models:
            quality["fooled"] = fooled(models.values(), original, written)
            if not any(quality["fooled"].values()):
                unprotected.append(task.name)
        context.record["quality"] = quality
        return photo, context.record

    run.run_each(process)
    if unprotected:
        print(f"not protected within the quality gate (min_quality {config.min_quality:g}; "
              f"no attacker fooled): {', '.join(unprotected)}", file=sys.stderr)
    attackers = sorted({name for prepared in chain for name in prepared.attackers})
    settings = {**config.describe(), "attackers": attackers,
                "facts": {name: prepared.facts for name, prepared in zip(config.methods, chain)
                          if prepared.facts}}
    return run.finish(settings)


def fooled(attackers, original: np.ndarray, photo: np.ndarray) -> dict[str, bool]:
    """{attacker name: the original's top-1 class is out of the photo's top 5}."""
    result = {}
    for attacker in attackers:
        before = attacker.predict(attacker.view(original[None]).numpy())
        after = attacker.predict(attacker.view(photo[None]).numpy())
        result[attacker.name] = metrics.photo_verdict(before, after)[1]
    return result
