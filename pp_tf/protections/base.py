"""What a protection method is, and the registry that holds them.

A protection maps a full-resolution RGB uint8 photo to an RGB uint8 photo (of
the same or another size). Each method lives in one module of this package and
registers one `Protection`:

* `name`: what `--method` takes;
* `settings`: a frozen dataclass whose fields have defaults and whose
  `__post_init__` validates them; `protect`'s flags are made from the fields
  of every registered method, so a field name means the same thing (and has
  the same type) in every method that has it;
* `build(settings) -> Prepared`: loads what the method needs once (a
  perturbation, a generator) and returns the per-photo function;
* `serving(settings) -> Servable` (optional): the same protection as a TF
  function of a uint8 batch, for the TF Serving `protect_<name>` export;
* `weights_command` (optional): for a method whose default settings need
  downloaded weights, the command that fetches and ports them (the demo lists
  it, and runs the method once the weights are there: `ready()`);
* `experiment` (optional): why the method is kept as an experiment, not offered
  as a protection (for example: it protects only by damage the quality gate
  refuses); `protect` says so when a chain uses it.

Adding a method is one module that calls `register` (modules of this package
are imported by `pp_tf.protections`), or a `register` call from anywhere
before `protect` runs.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import warnings
import zlib
from typing import Any, Callable

import numpy as np


@dataclasses.dataclass
class PhotoContext:
    """What a per-photo function knows of the photo besides its pixels.

    `name` is the input's file name (per-file seeds use it); facts put in
    `record` go into the run's manifest under that name.
    """

    name: str
    record: dict = dataclasses.field(default_factory=dict)


PhotoFn = Callable[[np.ndarray, PhotoContext], np.ndarray]


def file_rng(seed: int, file_name: str) -> np.random.Generator:
    """A generator seeded by `seed` and a file name: a re-run gives each photo the same result."""
    return np.random.default_rng([seed, zlib.crc32(file_name.encode())])


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A method ready to run: the per-photo function and what the manifest records of it.

    Attributes:
        apply: photo (uint8 `[h, w, 3]`), context -> protected photo (uint8).
        attackers: names of the classifiers it was made against (empty for
            methods that use none); evaluate marks every other attacker unseen.
        facts: anything else worth recording (for example a perturbation's view).
        models: the loaded attackers (`pp_tf.attacker.Attacker`), for a method that loads
            them: `protect` checks each photo it had to take back to the quality gate
            against them.
    """

    apply: PhotoFn
    attackers: tuple[str, ...] = ()
    facts: dict = dataclasses.field(default_factory=dict)
    models: tuple = ()


@dataclasses.dataclass(frozen=True)
class Servable:
    """A protection as a TF function: uint8 `[b, h, w, 3]` -> uint8 `[b, h', w', 3]`.

    `owned` holds the tracked objects (variables, loaded SavedModels) it uses,
    so that an export saves them.
    """

    protect_batch: Callable[[Any], Any]
    owned: Any = None


@dataclasses.dataclass(frozen=True)
class Protection:
    name: str
    summary: str
    settings: type
    build: Callable[[Any], Prepared]
    serving: Callable[[Any], Servable] | None = None
    weights_command: str | None = None
    ready: Callable[[], bool] = lambda: True  # can it run with its default settings here?
    experiment: str = ""  # why it is an experiment rather than a protection ("": it is not)

    def __post_init__(self):
        if not dataclasses.is_dataclass(self.settings):
            raise TypeError(f"{self.name}: settings must be a dataclass, got {self.settings}")
        for field in dataclasses.fields(self.settings):
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise TypeError(f"{self.name}: setting {field.name!r} needs a default")

    def make_settings(self, values: dict | None = None):
        """This method's settings from `values`, a flat dict that may hold other methods'
        settings too: only this method's fields are taken, by keyword."""
        values = values or {}
        names = {f.name for f in dataclasses.fields(self.settings)}
        return self.settings(**{k: v for k, v in values.items() if k in names and v is not None})


# The `experiment` text of a method that fools only by damage the quality gate refuses.
OUTSIDE_GATE = ("an experiment: within the quality gate (min_quality 70) it fools the trained "
                "attackers on {trained} of the bundled photos and the unseen one on {unseen} "
                "(BUILD_NOTES, \"Protection within the quality gate\")")

_REGISTRY: dict[str, Protection] = {}
# Methods renamed to say what they do; the old name works for one more release, and warns.
DEPRECATED_NAMES = {"color_filter": "tone_curves", "color_grade": "color_lut"}


def current_name(name: str) -> str:
    """`name`, or the name a renamed method has now (with a FutureWarning, which Python
    shows to the person running the command)."""
    if name in DEPRECATED_NAMES:
        warnings.warn(f"method {name!r} is now {DEPRECATED_NAMES[name]!r}; the old name goes "
                      "in the next release", FutureWarning, stacklevel=2)
        return DEPRECATED_NAMES[name]
    return name


def register(protection: Protection) -> Protection:
    """Adds `protection` to the registry; a name can be registered once."""
    if protection.name in _REGISTRY:
        raise ValueError(f"protection {protection.name!r} is already registered")
    if not protection.name.isidentifier():
        raise ValueError(f"protection names are identifiers, got {protection.name!r}")
    known = setting_fields(_REGISTRY.values())
    for name, field in setting_fields([protection]).items():
        if name in known and known[name].kind != field.kind:
            raise TypeError(f"{protection.name}: setting {name!r} is a {field.kind.__name__}, "
                            f"but a {known[name].kind.__name__} in "
                            f"{', '.join(known[name].methods)}")
    _REGISTRY[protection.name] = protection
    return protection


def unregister(name: str) -> None:
    """Removes a method (tests register throwaway ones)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> Protection:
    name = current_name(name)
    if name not in _REGISTRY:
        raise ValueError(f"unknown protection method {name!r}; choose from {', '.join(names())}")
    return _REGISTRY[name]


def names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def all_protections() -> tuple[Protection, ...]:
    return tuple(_REGISTRY[name] for name in names())


def _scalar_type(annotation) -> type:
    """bool, int, float or str from a field's annotation (`int | None` -> int; Literal -> str)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _scalar_type(inner)
    if annotation in (bool, int, float, str):
        return annotation
    raise TypeError(f"settings fields are bool, int, float, str, Literal or optional; "
                    f"got {annotation}")


@dataclasses.dataclass
class SettingField:
    """One setting name across the methods that have it (one flag of `protect`)."""

    kind: type  # bool, int, float or str
    defaults: dict  # {method: its default}
    help: str = ""

    @property
    def methods(self) -> list[str]:
        return list(self.defaults)

    def describe(self) -> str:
        """Help text: what it is, who takes it, and its default."""
        values = set(map(repr, self.defaults.values()))
        default = (f"default {next(iter(values))}" if len(values) == 1 else
                   "default: " + ", ".join(f"{m} {v!r}" for m, v in self.defaults.items()))
        return f"{self.help or 'Setting.'} [{', '.join(self.methods)}; {default}]"


def setting_fields(protections) -> dict[str, SettingField]:
    """{setting name: SettingField} over `protections`."""
    fields: dict[str, SettingField] = {}
    for protection in protections:
        # the annotations resolved where each field was written (an attack's Config)
        hints = typing.get_type_hints(protection.settings)
        for field in dataclasses.fields(protection.settings):
            entry = fields.setdefault(field.name, SettingField(_scalar_type(hints[field.name]),
                                                               {}))
            entry.defaults[protection.name] = field.default
            entry.help = entry.help or field.metadata.get("help", "")
    return fields
