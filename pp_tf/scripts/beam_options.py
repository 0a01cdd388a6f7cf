"""The Beam flags the archive scripts share: the runner, the local worker count, and every
other Beam option passed through as it is (`--project=... --region=...`)."""

from absl import flags

RUNNER = flags.DEFINE_string("runner", "DirectRunner",
                             "Beam runner: DirectRunner (this machine; run on Beam's Python "
                             "FnApiRunner), FlinkRunner, SparkRunner, DataflowRunner, ...")
DIRECT_NUM_WORKERS = flags.DEFINE_integer(
    "direct_num_workers", 2, "DirectRunner: worker processes (each loads the model once).")


def parse(argv):
    """absl's parser that leaves Beam's options to Beam: returns [program, *beam args]. A
    flag that is neither the script's nor a Beam option is a usage error (exit 2), not
    something Beam would drop with a log line."""
    import sys

    from apache_beam.options.pipeline_options import PipelineOptions

    from pp_tf.scripts import cli

    program, *passed = cli.parse(argv, known_only=True)
    beam_names = set(PipelineOptions([]).get_all_options())
    unknown = [arg for arg in passed if arg.startswith("-")
               and arg.lstrip("-").split("=")[0].replace("-", "_") not in beam_names]
    if unknown:
        sys.stderr.write(f"FATAL Flags parsing error: unknown flags {' '.join(unknown)} (neither "
                         "this script's nor Beam's options)\n"
                         "Pass --helpshort or --helpfull to see help on flags.\n")
        sys.exit(cli.EXIT_USAGE)
    return [program, *passed]


def beam_args(passed_through) -> list[str]:
    """The pipeline options: the runner flags, then the passed-through Beam options.

    DirectRunner becomes Beam's FnApiRunner, the Python engine the DirectRunner falls back
    to: since Beam 2.7x the DirectRunner first downloads its Go runner (Prism) from
    GitHub at run time, and nothing here downloads code at run time."""
    local = RUNNER.value in ("DirectRunner", "FnApiRunner")
    args = [f"--runner={'FnApiRunner' if local else RUNNER.value}"]
    if local:
        args += [f"--direct_num_workers={DIRECT_NUM_WORKERS.value}",
                 "--direct_running_mode=" + ("multi_processing" if DIRECT_NUM_WORKERS.value > 1
                                             else "in_memory")]
    return args + list(passed_through)
