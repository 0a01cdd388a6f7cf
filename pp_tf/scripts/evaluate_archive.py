r"""Evaluates a protected archive with Apache Beam: per attacker, how often the original's
top-1 changed or left the top 5 (as saved and after a simulated upload), and the
colour-undone SSIMULACRA2 (median, worst, share within the gate).

  python -m pp_tf.scripts.evaluate_archive --input_dir=examples --protected_dir=protected \
      --output_dir=evaluation

Writes output_dir/evaluation.json, photos.jsonl and failed.jsonl. Exit status: 0 done,
1 some photos failed, 2 usage.
"""

import json
import sys

from absl import flags

from pp_tf.pipelines import evaluate
from pp_tf.scripts import beam_options, cli

_INPUT = cli.input_dir("Folder of the original photos, or a glob.")
_PROTECTED = flags.DEFINE_string("protected_dir", None, "Folder of their protected copies.")
_OUTPUT = cli.output_dir("Where the evaluation goes.")
_ATTACKER = cli.attacker("evaluates")
flags.mark_flags_as_required(["input_dir", "protected_dir", "output_dir"])


def main(argv):
    config = evaluate.ArchiveEvaluation(input_dir=_INPUT.value, protected_dir=_PROTECTED.value,
                                        output_dir=_OUTPUT.value, attacker=_ATTACKER.value)
    try:
        summary = evaluate.run(config, beam_options.beam_args(argv[1:]))
    except ValueError as error:
        cli.fail(error, cli.EXIT_USAGE)
    failed = summary.pop("failed")
    for failure in failed:
        print(f"error: {failure['file']}: {failure['reason']}", file=sys.stderr)
    print(json.dumps(summary, indent=2))
    sys.exit(cli.EXIT_FAILED if failed else cli.EXIT_DONE)


def run():
    cli.run(main, flags_parser=beam_options.parse)


if __name__ == "__main__":
    run()
