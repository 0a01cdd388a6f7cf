"""Run as `python tests/cli_flags.py MODULE`: prints, as JSON, the flags the script
pp_tf.scripts.MODULE defines (its own and the ones `cli` defines for it) and the exit
status of its `run()` for an unknown flag (every flag without a default given, so that only
the unknown one is wrong) and for no flags at all (its `main` replaced by one that exits
0, so nothing runs)."""

import importlib
import json
import sys

from absl import flags


def exit_status(module, argv) -> int:
    flags.FLAGS.unparse_flags()
    sys.argv = argv
    try:
        module.run()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


def main(name: str) -> None:
    module = importlib.import_module(f"pp_tf.scripts.{name}")
    described = []
    for flag in flags.FLAGS.get_flags_for_module(module.__name__):
        described.append({"name": flag.name, "help": flag.help, "default": flag.default,
                          "enum": list(getattr(flag.parser, "enum_values", None) or []) or None})
    module.main = lambda argv: sys.exit(0)
    given = [f"--{flag.name}={(getattr(flag.parser, 'enum_values', None) or ['x'])[0]}"
             for flag in flags.FLAGS.get_flags_for_module(module.__name__)
             if flag.default is None and flag.flag_type() in ("string", "enum")]
    statuses = {"unknown_flag": exit_status(module, [name, *given, "--no_such_flag_anywhere"]),
                "no_flags": exit_status(module, [name])}
    print("FLAGS-JSON " + json.dumps({"flags": described, "exit": statuses}, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
