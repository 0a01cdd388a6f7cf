"""The command-line vocabulary every pp_tf script shares, written once.

* Folders: `--input_dir` is what a script reads, `--output_dir` what it writes (a script
  with two inputs names the second for what it holds: `--protected_dir`).
* Attackers: `--attacker`, a comma-separated list of architecture names or SavedModel
  folders. A script that optimises against attackers defaults to
  `models.TRAINED_ATTACKERS`; a script that scores photos defaults to
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

import sys

from absl import app, flags
from absl.flags import _helpers

# The flags defined here belong to the script that asks for them (its --help lists them),
# as absl does for its own defining modules.
_helpers.disclaim_module_ids.add(id(sys.modules[__name__]))

EXIT_DONE, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
ROLES = ("attacks", "evaluates", "trains")

_DEPRECATED: dict[str, str] = {}  # old flag name -> what replaces it


def input_dir(help_text: str, default: str | None = None):
    """`--input_dir`: the folder (or glob, where a script says so) a script reads."""
    return flags.DEFINE_string("input_dir", default, help_text)


def output_dir(help_text: str, default: str | None = None):
    """`--output_dir`: the folder a script writes."""
    return flags.DEFINE_string("output_dir", default, help_text)


def attacker_default(role: str) -> str:
    """The default `--attacker` of a script that "attacks", "evaluates" or "trains" (a UAP
    by DeepFool, made against one model) (`ROLES`)."""
    from pp_tf import models  # here: importing the models loads Keras

    return {"attacks": models.TRAINED_ATTACKERS, "evaluates": models.EVALUATED_ATTACKERS,
            "trains": models.DEFAULT_ATTACKER}[role]


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
