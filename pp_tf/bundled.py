"""Where the files shipped with pp_tf are: the bundled photos (`examples/`) and the
shipped perturbations (`saved_models/uap_*`).

In a clone they sit at the repository root. setup.py maps the two folders into the
wheel as `pp_tf/_bundled/examples` and `pp_tf/_bundled/saved_models` (`package_dir`,
with narrow `package_data` globs), so an installed pp_tf reads its own copy from any
working folder. The functions here return real filesystem paths either way: the
installed copy when there is one, else the clone's (source tree, editable install).
The label files are package data of their own (`pp_tf/data`, read by `pp_tf.labels`).

Only the standard library is imported: `import pp_tf.demo` pays two `stat` calls.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
from importlib import resources

DEFAULT_PERTURBATION = "uap_efficientnet_lite0_lite1_linf10"
# The shipped perturbations (file stems), each with its .npy, .json and .png; setup.py
# packages exactly these.
SHIPPED_PERTURBATIONS = tuple(f"uap_efficientnet_{attackers}_linf10{tail}"
                              for attackers in ("lite0", "lite0_lite1") for tail in ("", "_eot"))
FOLDERS = ("examples", "saved_models")
_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_extracted = contextlib.ExitStack()  # only used if pp_tf is ever imported from an archive
atexit.register(_extracted.close)


@functools.cache
def bundled_dir(folder: str) -> str:
    """The installed `pp_tf/_bundled/<folder>` if present, else `<clone>/<folder>`.

    Never raises for a missing folder: the callers' existence checks then name the
    installed location, where the files belong."""
    if folder not in FOLDERS:
        raise ValueError(f"folder must be one of {FOLDERS}, got {folder!r}")
    packaged = resources.files("pp_tf") / "_bundled" / folder
    if not packaged.is_dir():
        source = os.path.join(_SOURCE_ROOT, folder)
        if os.path.isdir(source):
            return source
    if isinstance(packaged, os.PathLike):
        return os.path.abspath(packaged)
    return os.path.abspath(_extracted.enter_context(resources.as_file(packaged)))


def examples_dir() -> str:
    """The 20 bundled photos, with `SOURCES.md` and `expected_content.json`."""
    return bundled_dir("examples")


def saved_models_dir() -> str:
    """The shipped perturbations (`.npy`, with their `.json` record and `.png` picture)."""
    return bundled_dir("saved_models")


def shipped_perturbation(name: str = DEFAULT_PERTURBATION) -> str:
    """Path of the shipped perturbation `name` (file stem, e.g. `uap_efficientnet_lite0_linf10_eot`)."""
    stem = name[:-4] if name.endswith(".npy") else name
    if not stem or os.path.basename(stem) != stem:
        raise ValueError(f"a shipped perturbation is named by its file stem, got {name!r}")
    return os.path.join(saved_models_dir(), stem + ".npy")
