"""`protect` for an archive, as an Apache Beam pipeline.

    MatchFiles(input) -> one input per output name -> ProtectPhoto -> output_dir/<name>
                                                                   -> manifest.jsonl
                                                                   -> failed.jsonl

* The protection is a `protect_<method>` SavedModel (`pp_tf.serving`, exported by
  `export_serving`), loaded once per worker process by a `DoFn` through `shared.Shared`
  (`setup`), and called on each photo's pixels (`serving_default`). A `DoFn` rather than
  `RunInference`: photos differ in size, so there is nothing to batch, and the per-photo
  work (a safe decode, the skip of a finished photo, the atomic write, the dead letter)
  lives in one place either way.
* Photos are decoded by `pp_tf.image_io` (the pixel limit, EXIF orientation, the reasons)
  and encoded as `protect` encodes them: JPEG stays JPEG (at `jpeg_quality`), GIF becomes
  PNG, no metadata.
* The batch policy of `pp_tf.batch`, per file: an output is written atomically (a
  temporary beside it, then a rename), so a killed worker leaves no partial output; a rerun
  skips every photo whose output exists (unless `overwrite`) and removes the temporaries
  a killed run left; a photo that fails goes to the dead-letter file `failed.jsonl` with
  its reason, and the others go on; two inputs that would make the same output fail both
  but the first, by name.
* The quality gate is held on each photo as written (after its JPEG encode), as `protect`
  holds it (`gate.hold`).
* `manifest.jsonl`: one record per photo of the run: `file`, `output`, `status`
  (`written` or `kept`) and, for a photo written, the gate's record (`quality`: strength,
  colour-undone SSIMULACRA2 and GMSD as saved).
"""

from __future__ import annotations

import dataclasses
import os

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.utils import shared
from PIL import Image

from pp_tf import batch, image_io
from pp_tf.pipelines import files
from pp_tf.quality import gate

MANIFEST = "manifest.jsonl"


@dataclasses.dataclass(frozen=True)
class ArchiveConfig:
    """Attributes:
        input_dir: a folder (every file in it) or a glob, on any Beam filesystem.
        output_dir: where the protected copies, the manifest and the dead letters go.
        model_dir: a `protect_<method>` SavedModel (the version folder `export_serving`
            writes, holding saved_model.pb).
        overwrite: protect photos whose output exists (default: keep them; a rerun).
        jpeg_quality: quality of JPEG outputs.
        max_pixels: larger photos fail (decompression bombs).
        min_quality: the quality gate, held on each photo as it is written (`gate.hold`,
            after the JPEG encode), as `protect` holds it. A gated export has held it
            before the encode already; this takes the photo back further where the
            encode cost it the gate, and records each photo's quality.
    """

    input_dir: str
    output_dir: str
    model_dir: str
    overwrite: bool = False
    jpeg_quality: int = 95
    max_pixels: int = image_io.DEFAULT_MAX_PIXELS
    min_quality: float = gate.DEFAULT


class _Loaded:
    """A SavedModel's serving function, held by `shared.Shared` (which needs a weakref-able
    object) for every thread of a worker."""

    def __init__(self, model_dir: str):
        import tensorflow as tf

        self.model = tf.saved_model.load(model_dir)
        self.serve = self.model.signatures["serving_default"]


class ProtectPhoto(beam.DoFn):
    """One photo's path -> its manifest record, or a dead letter (`failed` output)."""

    def __init__(self, config: ArchiveConfig):
        self._config = config
        self._shared = shared.Shared()
        self._loaded = None

    def setup(self):
        model_dir = self._config.model_dir
        self._loaded = self._shared.acquire(lambda: _Loaded(model_dir), tag=model_dir)

    def protect(self, original):
        import tensorflow as tf

        return self._loaded.serve(images=tf.constant(original[None]))["images"][0].numpy()

    def process(self, path: str):
        config = self._config
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
                data = handle.read()
            fmt = image_io.bytes_format(data)
            output = FileSystems.join(config.output_dir, image_io.output_name(path, fmt))
            if not config.overwrite and FileSystems.exists(output):
                yield {"file": path, "output": output, "status": "kept"}
                return
            original = image_io.decode_image(data, path, config.max_pixels)
            protected = self.protect(original)
            protected, quality, _ = gate.hold(
                original, protected, gate.QualityGate(config.min_quality),
                image_io.AsSaved(fmt, config.jpeg_quality))
            files.write_atomic(image_io.encode_image(protected, fmt, config.jpeg_quality),
                               output)
        except Exception as error:  # the dead letter: named, with its reason
            yield beam.pvalue.TaggedOutput(
                files.FAILED_TAG, {"file": path, "reason": batch.describe_error(error)})
            return
        record = {"file": path, "output": output, "status": "written", "quality": quality}
        yield record


def _output_name(path: str) -> str:
    """The name `ProtectPhoto` writes for `path`: by the format its header names (by its
    extension where no header can be read; that input fails later, with its reason)."""
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            with Image.open(handle) as image:  # reads the header only
                fmt = image.format or "PNG"
    except Exception:  # noqa: BLE001 - unreadable: ProtectPhoto names the reason
        fmt = None
    return image_io.output_name(path, fmt)


def _one_input_per_output(keyed):
    """(output name, [paths]) -> the first path by name; the others fail with the reason."""
    name, paths = keyed
    first, *others = sorted(paths)
    yield first
    for path in others:
        yield beam.pvalue.TaggedOutput(files.FAILED_TAG, {
            "file": path, "reason": f"another input, {first}, makes the same output {name}"})


def build(pipeline, config: ArchiveConfig):
    """Adds the protect pipeline to `pipeline`."""
    matched = (pipeline
               | "Match" >> fileio.MatchFiles(files.input_pattern(config.input_dir),
                                              empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW)
               | "Paths" >> beam.Map(lambda metadata: metadata.path)
               | "ByOutput" >> beam.Map(lambda path: (_output_name(path), path))
               | "Group" >> beam.GroupByKey()
               | "OnePerOutput" >> beam.FlatMap(_one_input_per_output).with_outputs(
                   files.FAILED_TAG, main="paths"))
    protected = (matched.paths
                 | "Spread" >> beam.Reshuffle()
                 | "Protect" >> beam.ParDo(ProtectPhoto(config)).with_outputs(
                     files.FAILED_TAG, main="records"))
    failed = ((matched[files.FAILED_TAG], protected[files.FAILED_TAG])
              | "Failures" >> beam.Flatten())
    files.write_json_lines(protected.records, config.output_dir, MANIFEST, "Manifest")
    files.write_json_lines(failed, config.output_dir, files.FAILED, "Failed")


def check_config(config: ArchiveConfig) -> None:
    """Refuses what would make the run unsafe before any work: an output folder inside the
    input folder, or a model folder that is not a SavedModel."""
    input_folder = os.path.dirname(files.input_pattern(config.input_dir)).rstrip("/")
    output = config.output_dir.rstrip("/")
    if files.is_local(input_folder) and files.is_local(output):
        input_folder, output = os.path.realpath(input_folder), os.path.realpath(output)
    if output == input_folder or output.startswith(input_folder + "/"):
        raise ValueError(f"{config.output_dir}: the output folder is inside the input folder "
                         f"{input_folder}")
    if not FileSystems.exists(FileSystems.join(config.model_dir, "saved_model.pb")):
        raise ValueError(f"{config.model_dir}: not a SavedModel folder (no saved_model.pb; "
                         "export one with export_serving --models=protect_METHOD)")


def run(config: ArchiveConfig, beam_args=()) -> dict:
    """Runs the pipeline to the end; returns what it did: `written`, `kept` and `failed`
    (the dead letters, with reasons)."""
    check_config(config)
    files.prepare_output_dir(config.output_dir)
    with beam.Pipeline(options=PipelineOptions(list(beam_args))) as pipeline:
        build(pipeline, config)
    records = files.read_json_lines(FileSystems.join(config.output_dir, MANIFEST))
    return {"written": sum(r["status"] == "written" for r in records),
            "kept": sum(r["status"] == "kept" for r in records),
            "failed": files.read_json_lines(FileSystems.join(config.output_dir, files.FAILED))}
