r"""Protects an archive with Apache Beam: every photo of a folder or glob, on any Beam
filesystem, through a `protect_METHOD` SavedModel (export_serving) loaded once per worker.

  python -m pp_tf.scripts.export_serving --models=protect_pgd --output_dir=serving
  python -m pp_tf.scripts.protect_archive --input_dir=examples --output_dir=protected \
      --model_dir=serving/protect_pgd/1
  python -m pp_tf.scripts.protect_archive --runner=DataflowRunner --project=P --region=R \
      --temp_location=gs://B/tmp --input_dir='gs://B/photos/*.jpg' --output_dir=gs://B/out \
      --model_dir=gs://B/serving/protect_pgd/1

Writes output_dir/<photo>, manifest.jsonl and failed.jsonl (the dead letters); a rerun
keeps finished photos. Exit status: 0 done, 1 some photos failed, 2 usage.
"""

import sys

from absl import flags

from pp_tf.pipelines import protect
from pp_tf.scripts import beam_options, cli

_INPUT = cli.input_dir("Folder of photos, or a glob.")
_OUTPUT = cli.output_dir("Where protected copies go (not inside input_dir).")
_MODEL = flags.DEFINE_string("model_dir", None, "The protect_METHOD SavedModel (its version folder).")
_OVERWRITE = flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.")
_QUALITY = flags.DEFINE_integer("jpeg_quality", 95, "Quality of JPEG outputs.")
flags.mark_flags_as_required(["input_dir", "output_dir", "model_dir"])


def main(argv):
    config = protect.ArchiveConfig(input_dir=_INPUT.value, output_dir=_OUTPUT.value,
                                   model_dir=_MODEL.value, overwrite=_OVERWRITE.value,
                                   jpeg_quality=_QUALITY.value)
    try:
        done = protect.run(config, beam_options.beam_args(argv[1:]))
    except ValueError as error:
        cli.fail(error, cli.EXIT_USAGE)
    for failure in done["failed"]:
        print(f"error: {failure['file']}: {failure['reason']}", file=sys.stderr)
    print(f"{done['written']} written, {done['kept']} kept, {len(done['failed'])} failed "
          f"(manifest: {_OUTPUT.value}/{protect.MANIFEST})")
    sys.exit(cli.EXIT_FAILED if done["failed"] else cli.EXIT_DONE)


def run():
    cli.run(main, flags_parser=beam_options.parse)


if __name__ == "__main__":
    run()
