"""What a long run's result depends on, and whether a resumed run may go on with it.

Every checkpoint records the run's settings as one flat mapping of setting name
(the command-line flag's name where there is one) to a JSON value: the resolved
configuration, the data source's identity (`folder_identity`, `tfds_identity`,
`array_identity`) and the pp_tf version. On `--resume`, `compare` checks the new
invocation's settings against the checkpoint's:

* settings in `free` (log folder, progress bar, checkpoint and summary
  frequency, ...) cannot change the result and may differ;
* any other difference is refused with `SettingsChangedError`, which lists each
  differing setting as ``name: old -> new``;
* unless the setting is named in ``--allow_changed``: then the change is
  accepted on purpose and returned, to be recorded (with the step) by the run.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

import pp_tf

_MISSING = "<absent>"


class SettingsChangedError(ValueError):
    """A resumed run's settings differ from its checkpoint's in something that alters the result."""


def version() -> str:
    return pp_tf.__version__


def normalise(settings: dict) -> dict:
    """The settings as they read back from JSON (tuples become lists, keys strings)."""
    return json.loads(json.dumps(settings, sort_keys=True))


def folder_identity(files, root: str | None = None) -> dict:
    """A folder (or list) of files: its path and a SHA-256 of the sorted names and sizes."""
    digest = hashlib.sha256()
    entries = sorted((os.path.relpath(f, root) if root else os.path.basename(f), os.path.getsize(f))
                     for f in files)
    for name, size in entries:
        digest.update(f"{name}\t{size}\n".encode())
    return {"path": os.path.abspath(root) if root else None, "files": len(entries),
            "names_and_sizes_sha256": digest.hexdigest()}


def tfds_identity(name: str, split: str, data_dir: str | None = None) -> dict:
    """A prepared TFDS split: name, split and the prepared version (never downloads)."""
    version_text = None
    try:
        import tensorflow_datasets as tfds

        version_text = str(tfds.builder(name, data_dir=data_dir).info.version)
    except Exception:  # noqa: BLE001 - an unreadable dataset fails later, with its own message
        pass
    return {"tfds": name, "split": split, "version": version_text}


def array_identity(array) -> dict:
    """Shape, dtype and SHA-256 of an array's bytes (the exact training inputs)."""
    array = np.ascontiguousarray(array)
    return {"shape": list(array.shape), "dtype": str(array.dtype),
            "sha256": hashlib.sha256(array.data).hexdigest()}


def parse_allowed(text: str | list | tuple | None) -> frozenset:
    """`--allow_changed=a,b` (or a list) -> {"a", "b"}."""
    if not text:
        return frozenset()
    items = text.split(",") if isinstance(text, str) else text
    return frozenset(item.strip() for item in items if item.strip())


def _show(value) -> str:
    return json.dumps(value) if not isinstance(value, str) or value == _MISSING else repr(value)


def differences(old: dict, new: dict, free=frozenset()) -> list[str]:
    """The names of the settings outside `free` whose values differ (sorted)."""
    old, new = normalise(old), normalise(new)
    return [name for name in sorted(set(old) | set(new)) if name not in free
            and old.get(name, _MISSING) != new.get(name, _MISSING)]


def show_differences(old: dict, new: dict, names) -> str:
    """One line per setting of `names`: `  name: old -> new`."""
    old, new = normalise(old), normalise(new)
    return "\n".join(f"  {name}: {_show(old.get(name, _MISSING))} -> "
                     f"{_show(new.get(name, _MISSING))}" for name in names)


def compare(old: dict, new: dict, *, free=frozenset(), allowed=frozenset(), where: str = "",
            step: int | None = None) -> list[dict]:
    """The accepted changes from `old` (a checkpoint's settings) to `new` (this invocation's).

    Returns:
        ``[{"setting", "old", "new", "step"}]`` for each differing setting named in
        `allowed` (sorted by name); empty when nothing that matters differs.
    Raises:
        SettingsChangedError: a setting outside `free` and `allowed` differs (all
            such are listed, ``name: old -> new``), or `allowed` names a setting
            that does not exist.
    """
    old, new = normalise(old), normalise(new)
    names = sorted(set(old) | set(new))
    unknown = sorted(set(allowed) - set(names))
    if unknown:
        raise SettingsChangedError(
            f"--allow_changed names {', '.join(unknown)}, which are not settings of this run "
            f"(settings: {', '.join(n for n in names if n not in free)})")
    differing = differences(old, new, free)
    refused = [name for name in differing if name not in allowed]
    if refused:
        lines = show_differences(old, new, refused)
        raise SettingsChangedError(
            f"{where}: --resume with settings that change the result; differing from the "
            f"checkpoint's:\n{lines}\nRerun with the checkpoint's settings, or accept the changes "
            f"on purpose with --allow_changed={','.join(refused)}")
    return [{"setting": name, "old": old.get(name), "new": new.get(name), "step": step}
            for name in differing]
