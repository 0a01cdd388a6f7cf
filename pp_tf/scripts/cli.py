"""The command-line vocabulary every pp_tf script shares, written once.

* Folders: `--input_dir` is what a script reads, `--output_dir` what it writes (a script
  with two inputs names the second for what it holds: `--protected_dir`).
* Attackers: `--attacker`, a comma-separated list of architecture names or SavedModel
  folders. A protection optimises against `models.TRAINED_ATTACKERS` (its settings'
  default, `protect`'s flag); a script that scores photos defaults to
  `models.EVALUATED_ATTACKERS`, the trained ones plus the unseen one, so that a default
  evaluation of a default protection always shows an attacker it never saw; `train_uap`,
  whose DeepFool mode is made against one model, to `models.DEFAULT_ATTACKER`.
* Exit status: `EXIT_DONE` (0) done; `EXIT_FAILED` (1) some inputs failed, each named on
  stderr, or the run failed; `EXIT_USAGE` (2) usage: an unknown or missing flag, a bad
  value, a refused setting. `run(main)` applies it to absl's own flag errors too.
* A renamed flag keeps its old name for one release as a deprecated alias
  (`deprecated_alias`), which warns when it is used.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing

from absl import app, flags
from absl.flags import _helpers

# The flags defined here belong to the script that asks for them (its --help lists them),
# as absl does for its own defining modules.
_helpers.disclaim_module_ids.add(id(sys.modules[__name__]))

EXIT_DONE, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_DEPRECATED: dict[str, str] = {}  # old flag name -> what replaces it


def input_dir(help_text: str, default: str | None = None):
    """`--input_dir`: the folder (or glob, where a script says so) a script reads."""
    return flags.DEFINE_string("input_dir", default, help_text)


def output_dir(help_text: str, default: str | None = None):
    """`--output_dir`: the folder a script writes."""
    return flags.DEFINE_string("output_dir", default, help_text)


def attacker_default(role: str) -> str:
    """The default `--attacker` of a script that "evaluates" photos or "trains" a UAP (by
    DeepFool, made against one model)."""
    from pp_tf import models  # here: importing the models loads Keras

    return {"evaluates": models.EVALUATED_ATTACKERS, "trains": models.DEFAULT_ATTACKER}[role]


def attacker(role: str, help_text: str = ""):
    """`--attacker` with the default of `role` (`attacker_default`); the help lists the
    registered classifiers."""
    from pp_tf import models

    return flags.DEFINE_string(
        "attacker", attacker_default(role),
        (help_text + " " if help_text else "") + "Attackers, separated by commas: "
        f"architecture names ({', '.join(models.names('classifier'))}) or port_weights "
        "SavedModel folders.")


def deprecated_alias(old: str, new: str) -> None:
    """`--old` sets `--new` for one more release, with a warning when it is used."""
    flags.DEFINE_alias(old, new)
    flags.FLAGS[old].help = f"Deprecated alias of --{new}; removed in the next release."
    deprecated(old, f"--{new}")


def deprecated(old: str, replacement: str) -> None:
    """Marks the defined flag `--old` as deprecated: using it warns, naming `replacement`."""
    _DEPRECATED[old] = replacement


def define_flags(*classes, exclude=()) -> dict:
    """One flag per field of the dataclasses `classes`, from the field alone: its name, its
    default, the help its `pp_tf.settings.setting` wrote, and its kind from its type (bool,
    int, float, str, a Literal: an enum, a tuple of str: a list; `| None` allowed). A name
    in several classes is one flag, whose defaults must agree. Returns {name: FlagHolder}."""
    holders, defaults = {}, {}
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            if field.name in exclude:
                continue
            default = None if field.default is dataclasses.MISSING else field.default
            if field.name in holders:
                if defaults[field.name] != default:
                    raise ValueError(f"--{field.name}: defaults {defaults[field.name]!r} and "
                                     f"{default!r} differ between the classes")
                continue
            help_text = field.metadata.get("help")
            if not help_text:
                raise ValueError(f"{cls.__name__}.{field.name} has no help (write it with "
                                 "pp_tf.settings.setting)")
            holders[field.name] = _define(field.name, hints[field.name], default, help_text)
            defaults[field.name] = default
    return holders


def _define(name: str, annotation, default, help_text: str):
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return flags.DEFINE_enum(name, default, [str(v) for v in typing.get_args(annotation)],
                                 help_text)
    if origin is tuple:
        return flags.DEFINE_list(name, list(default or ()), help_text)
    define = {bool: flags.DEFINE_boolean, int: flags.DEFINE_integer, float: flags.DEFINE_float,
              str: flags.DEFINE_string}[annotation]
    return define(name, default, help_text)


def values_of(cls, holders: dict, **overrides):
    """An instance of dataclass `cls` whose every field is the flag of the same name."""
    values = {field.name: holders[field.name].value for field in dataclasses.fields(cls)
              if field.name in holders}
    values = {name: tuple(value) if isinstance(value, list) else value
              for name, value in values.items()}  # a list flag fills a tuple field
    return cls(**{**values, **overrides})


def fail(error, status: int = EXIT_FAILED) -> typing.NoReturn:
    """Ends the script: `error: <what went wrong>` on stderr (no traceback), exit `status`."""
    print(f"error: {error}", file=sys.stderr)
    sys.exit(status)


def usage_error(message: str) -> app.UsageError:
    """The error to raise for a bad combination of flags: exits with `EXIT_USAGE`."""
    return app.UsageError(message, exitcode=EXIT_USAGE)


def parse(argv, known_only: bool = False):
    """absl's flag parsing, but a flag error exits with `EXIT_USAGE` (absl's own exits 1)."""
    try:
        return flags.FLAGS(argv, known_only=known_only)
    except flags.Error as error:
        sys.stderr.write(f"FATAL Flags parsing error: {error}\n"
                         "Pass --helpshort or --helpfull to see help on flags.\n")
        sys.exit(EXIT_USAGE)


def _warn_deprecated() -> None:
    for old, new in sorted(_DEPRECATED.items()):
        if flags.FLAGS[old].present:
            print(f"warning: --{old} is deprecated and goes in the next release; use {new}",
                  file=sys.stderr)


def run(main, flags_parser=parse) -> None:
    """`app.run(main)` with the vocabulary's exit codes and deprecation warnings."""

    def main_with_warnings(argv):
        _warn_deprecated()
        return main(argv)

    app.run(main_with_warnings, flags_parser=flags_parser)
