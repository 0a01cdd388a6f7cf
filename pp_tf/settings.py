"""A setting is written once: a dataclass field with its default and its help.

An attack's Config (`pp_tf.attacks.*`) declares each of its settings with `setting`. A
protection's Settings extend that Config with what the protection adds (the attackers,
its working size) and `protect`'s flags are made from the fields
(`pp_tf.protections.setting_fields`), so a new knob of an attack is one field, which
reaches the attack, the protection, its flag and its help at once.
"""

from __future__ import annotations

import dataclasses


def setting(default, help_text: str):
    """A dataclass field: its default, and the help of the flag made from it."""
    return dataclasses.field(default=default, metadata={"help": help_text})


def setting_with_default(base, name: str, default):
    """Field `name` of dataclass `base` with another default, and the same help: for a
    subclass whose method is tuned differently."""
    field = next(f for f in dataclasses.fields(base) if f.name == name)
    return dataclasses.field(default=default, metadata=field.metadata)


def config_of(config_class, settings, **overrides):
    """The `config_class` instance whose every field is the field of `settings` of the same
    name (a protection's Settings extend its attack's Config), with `overrides`."""
    values = {field.name: getattr(settings, field.name)
              for field in dataclasses.fields(config_class)}
    return config_class(**{**values, **overrides})
