"""The Beam flags the archive scripts share: the runner, the local worker count, and every
other Beam option passed through as it is (`--project=... --region=...`)."""

from absl import flags

RUNNER = flags.DEFINE_string("runner", "DirectRunner",
                             "Beam runner: DirectRunner (this machine; run on Beam's Python "
                             "FnApiRunner), FlinkRunner, SparkRunner, DataflowRunner, ...")
DIRECT_NUM_WORKERS = flags.DEFINE_integer(
    "direct_num_workers", 2, "DirectRunner: worker processes (each loads the model once).")


def parse(argv):
    """absl's parser that leaves unknown flags to Beam: returns [program, *beam args]."""
    from pp_tf.scripts import cli

    return cli.parse(argv, known_only=True)


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
