"""The protection methods, one module each, in one registry.

`pp_tf.protections.names()` lists them, `get(name)` returns one; `protect`,
`serving`, `demo` and the `--method` help all enumerate this registry. See
`pp_tf.protections.base` for what a method provides.
"""

from __future__ import annotations

import importlib
import pkgutil

from pp_tf.protections.base import (PhotoContext, PhotoFn, Prepared, Protection, Servable,
                                    SettingField, all_protections, current_name, file_rng, get,
                                    names, register, setting_fields, unregister)

__all__ = ["PhotoContext", "PhotoFn", "Prepared", "Protection", "Servable", "SettingField",
           "all_protections", "current_name", "file_rng", "get", "names", "register",
           "setting_fields", "unregister"]

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base" and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
