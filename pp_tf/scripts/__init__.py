"""Thin absl command-line entry points: flags in, one library call, results out.

`SCRIPTS` is their registry: setup.py makes the console commands from it, and
tests/test_cli_vocabulary.py holds every script to the vocabulary of `cli`. Adding a
script is its module plus one line here. Standard library only: setup.py reads this file.
"""

import os
from typing import NamedTuple

# TensorFlow's C++ start-up chatter is not for end users; TF_CPP_MIN_LOG_LEVEL=0 restores it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class Script(NamedTuple):
    module: str  # pp_tf.scripts.<module>
    command: str  # the console command
    reads_photos: bool  # it reads a folder of photos: --input_dir
    attacker_role: str | None  # its --attacker default (cli.attacker_default); None: no flag


SCRIPTS = (
    Script("protect", "pp-protect", True, None),  # --attacker comes from the methods' settings
    Script("evaluate", "pp-evaluate", True, "evaluates"),
    Script("demo", "pp-demo", True, "evaluates"),
    Script("stylize", "pp-stylize", True, None),
    Script("train_uap", "pp-train-uap", True, "trains"),
    Script("train_gan", "pp-train-gan", False, None),  # reads --domain_a and --domain_b
    Script("port_weights", "pp-port-weights", False, None),
    Script("export_serving", "pp-export-serving", False, None),
    Script("protect_archive", "pp-protect-archive", True, None),
    Script("evaluate_archive", "pp-evaluate-archive", True, "evaluates"),
)
