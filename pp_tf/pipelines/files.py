"""File handling the pipelines share, through Beam's `FileSystems` (local paths, gs://,
s3://, hdfs://): the batch policy of `pp_tf.batch`, per file and on any filesystem."""

from __future__ import annotations

import glob
import json
import os
import shutil
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

FAILED = "failed.jsonl"  # the dead letters: {"file", "reason"} per line
FAILED_TAG = "failed"  # the tagged output they travel in
TEMPORARY_PREFIX = ".pp_tf-"
TEMPORARY_SUFFIX = ".tmp"


def is_local(path: str) -> bool:
    return "://" not in path


def input_pattern(input_dir: str) -> str:
    """A folder (every file in it) or a glob, as `--input_dir` takes it."""
    if any(character in input_dir for character in "*?["):
        return input_dir
    return FileSystems.join(input_dir.rstrip("/"), "*")


def write_atomic(data: bytes, path: str) -> None:
    """Writes `path` through a temporary file beside it and a rename: a reader, and a rerun,
    sees the complete file or none (a killed worker leaves at most a temporary, which
    `clean_temporaries` removes). On an object store the object appears whole at its
    rename."""
    folder, name = FileSystems.split(path)
    temporary = FileSystems.join(folder, f"{TEMPORARY_PREFIX}{uuid.uuid4().hex}-{name}"
                                         f"{TEMPORARY_SUFFIX}")
    try:
        with FileSystems.create(temporary) as handle:
            handle.write(data)
        if FileSystems.exists(path):
            FileSystems.delete([path])
        FileSystems.rename([temporary], [path])
    except BaseException:
        if FileSystems.exists(temporary):
            FileSystems.delete([temporary])
        raise


def clean_temporaries(output_dir: str) -> int:
    """Removes the temporaries a killed run left in `output_dir` (ours, and the folders
    `WriteToText` stages its files in); returns how many files."""
    patterns = [FileSystems.join(output_dir, f"{TEMPORARY_PREFIX}*{TEMPORARY_SUFFIX}"),
                FileSystems.join(output_dir, "beam-temp-*", "*")]
    paths = [m.path for result in FileSystems.match(patterns) for m in result.metadata_list]
    if paths:
        FileSystems.delete(paths)
    if is_local(output_dir):  # object stores have no folders to leave behind
        for folder in glob.glob(os.path.join(glob.escape(output_dir), "beam-temp-*")):
            shutil.rmtree(folder, ignore_errors=True)
    return len(paths)


def prepare_output_dir(output_dir: str) -> None:
    if not FileSystems.exists(output_dir):
        FileSystems.mkdirs(output_dir)
    clean_temporaries(output_dir)


def read_json_lines(pattern: str) -> list[dict]:
    """Every record of the JSON-lines files matching `pattern` (none: an empty list)."""
    records = []
    for metadata in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(metadata.path) as handle:
            records += [json.loads(line) for line in handle.read().decode().splitlines()
                        if line.strip()]
    return records


def write_json_lines(records, output_dir: str, name: str, label: str):
    """Writes a PCollection of records as one JSON-lines file `output_dir/name` (staged and
    renamed by `WriteToText`); `label` names the steps."""
    stem, suffix = os.path.splitext(name)
    return (records
            | f"{label}Json" >> beam.Map(lambda record: json.dumps(record, ensure_ascii=False))
            | f"{label}Write" >> beam.io.WriteToText(
                FileSystems.join(output_dir, stem), file_name_suffix=suffix,
                shard_name_template="", num_shards=1))
