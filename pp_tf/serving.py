"""Exports for TF Serving: versioned SavedModels, bytes-in/bytes-out protect
models, warm-up records and a `models.config`.

Layout written under `base_dir` (mount it as `/models` in the container):

    base_dir/models.config
    base_dir/<name>/<version>/saved_model.pb, variables/, assets.extra/tf_serving_warmup_requests

`protect_*` models hold every photo to the quality gate, as `protect` does (`gated`), and
have two signatures:
* `protect_bytes(image_bytes: string [batch])` -> `protected_bytes: string [batch]`:
  encoded JPEG/PNG/GIF/BMP in, JPEG out for JPEG in, PNG otherwise. TF Serving's REST
  API base64-encodes outputs whose name ends in `_bytes`. The server decodes with
  `tf.io.decode_image`, which ignores EXIF orientation: clients send upright pixels
  (`pp_tf.image_io.read_image` makes them so). Outputs carry no metadata.
* `serving_default(images: uint8 [batch, h, w, 3])` -> `images: uint8 [batch, h, w, 3]`.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf

from pp_tf import protections
from pp_tf.quality import gate

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
_PNG_MAGIC = b"\x89PNG"
_JPEG_MAGIC = b"\xff\xd8"


def gated(protect_batch, quality_gate: gate.QualityGate):
    """`protect_batch` whose every photo is held to `quality_gate` (`gate.hold_tensor`), as
    `protect` holds what it writes; a photo whose size the protection changed, or one under
    8 px, is not measured and passes as it is."""
    if not quality_gate.on:
        return protect_batch

    def hold(pair):
        original, result = pair
        measurable = tf.logical_and(
            tf.reduce_all(tf.equal(tf.shape(original), tf.shape(result))),
            tf.reduce_min(tf.shape(original)[:2]) >= 8)
        return tf.cond(measurable, lambda: gate.hold_tensor(original, result, quality_gate)[0],
                       lambda: result)

    def protect_gated(images):
        return tf.map_fn(hold, (images, protect_batch(images)),
                         fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8))

    return protect_gated


class ProtectModule(tf.Module):
    """Wraps a uint8-batch -> uint8-batch protection as a bytes-in/bytes-out model."""

    def __init__(self, protect_batch, name: str, jpeg_quality: int = 95, owned=None):
        super().__init__(name=name)
        self._protect_batch = protect_batch
        self.jpeg_quality = int(jpeg_quality)
        self.owned = owned  # tracked objects (variables, loaded models) the function uses
        self.serve = tf.function(
            self._serve, input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])
        self.protect_bytes = tf.function(
            self._protect_bytes, input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])

    def _serve(self, images):
        return {"images": self._protect_batch(images)}

    def _protect_one(self, data):
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        protected = self._protect_batch(image[None])[0]
        is_jpeg = tf.equal(tf.strings.substr(data, 0, 2), _JPEG_MAGIC)
        return tf.cond(is_jpeg,
                       lambda: tf.io.encode_jpeg(protected, quality=self.jpeg_quality,
                                                 chroma_downsampling=False),
                       lambda: tf.io.encode_png(protected))

    def _protect_bytes(self, image_bytes):
        encoded = tf.map_fn(self._protect_one, image_bytes,
                            fn_output_signature=tf.TensorSpec([], tf.string))
        return {"protected_bytes": encoded}

    def signatures(self):
        return {"serving_default": self.serve, "protect_bytes": self.protect_bytes}


def protect_module(method: str, settings=None, name: str | None = None,
                   min_quality: float = gate.DEFAULT) -> ProtectModule:
    """`protect_<method>`: a registered protection that has a serving function, held to the
    quality gate at `min_quality` (0: off) as `protect` holds its output.

    `settings` is the method's settings dataclass, or a flat dict of setting values
    (each method takes the ones it has); None means its defaults.
    """
    protection = protections.get(method)
    if protection.serving is None:
        raise ValueError(f"method {method} has no TF Serving form; methods that have one: "
                         f"{', '.join(servable_methods())}")
    if not isinstance(settings, protection.settings):
        settings = protection.make_settings(settings)
    servable = protection.serving(settings)
    return ProtectModule(gated(servable.protect_batch, gate.QualityGate(min_quality)),
                         name or f"protect_{method}", owned=servable.owned)


def servable_methods() -> tuple[str, ...]:
    return tuple(p.name for p in protections.all_protections() if p.serving is not None)


def stylizer_protect_module(stylizer_dir: str, name: str,
                            min_quality: float = gate.DEFAULT) -> ProtectModule:
    """Restyling with an exported stylizer (its `serving_default`: uint8 -> uint8), held to
    the quality gate at `min_quality`."""
    loaded = tf.saved_model.load(stylizer_dir)
    serve = loaded.signatures["serving_default"]
    return ProtectModule(gated(lambda images: serve(images=images)["images"],
                               gate.QualityGate(min_quality)), name, owned=loaded)


# ----------------------------------------------------------------- warm-up and config
# TF Serving reads warm-up requests as a TFRecord of `tensorflow.serving.PredictionLog`
# protos and its --model_config_file as a `ModelServerConfig` in text format. The few
# fields used here are written directly (protobuf wire format; the TensorProto inside
# comes from TensorFlow), so exporting needs no tensorflow-serving-api, whose metadata
# pins the full `tensorflow` package. tests/test_serving.py checks both against the real
# `tensorflow_serving` protos, byte for byte.
_PREDICTION_LOG_PREDICT_LOG = 6  # PredictionLog.predict_log: PredictLog
_PREDICT_LOG_REQUEST = 1         # PredictLog.request: PredictRequest
_REQUEST_MODEL_SPEC = 1          # PredictRequest.model_spec: ModelSpec
_REQUEST_INPUTS = 2              # PredictRequest.inputs: map<string, TensorProto>
_SPEC_NAME = 1                   # ModelSpec.name: string
_SPEC_SIGNATURE_NAME = 3         # ModelSpec.signature_name: string
_MAP_KEY, _MAP_VALUE = 1, 2      # a map entry's fields


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): a string, bytes or an embedded message."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string_field(number: int, value: str) -> bytes:
    return _field(number, value.encode()) if value else b""  # proto3 omits empty strings


@dataclasses.dataclass(frozen=True)
class WarmupRequest:
    """A `tensorflow.serving.PredictRequest`: model_spec {name, signature_name} and
    inputs (name -> `tensorflow.TensorProto`)."""

    model_name: str
    signature_name: str
    inputs: dict

    def serialize(self) -> bytes:
        """The PredictRequest's wire bytes (inputs in key order, as deterministic
        serialization writes a map)."""
        spec = (_string_field(_SPEC_NAME, self.model_name)
                + _string_field(_SPEC_SIGNATURE_NAME, self.signature_name))
        inputs = b"".join(
            _field(_REQUEST_INPUTS, _field(_MAP_KEY, key.encode())
                   + _field(_MAP_VALUE, self.inputs[key].SerializeToString()))
            for key in sorted(self.inputs))
        return _field(_REQUEST_MODEL_SPEC, spec) + inputs

    def prediction_log(self) -> bytes:
        """A `tensorflow.serving.PredictionLog` holding this request: one warm-up record."""
        return _field(_PREDICTION_LOG_PREDICT_LOG, _field(_PREDICT_LOG_REQUEST, self.serialize()))


def sample_jpeg(size=(64, 64)) -> bytes:
    y, x = np.mgrid[0:size[0], 0:size[1]]
    image = np.stack([x * 4 % 256, y * 4 % 256, (x + y) * 2 % 256], -1).astype(np.uint8)
    return tf.io.encode_jpeg(image, quality=90).numpy()


def _input_specs(function) -> dict:
    """{name: TensorSpec} of a tf.function with an input signature, or of a loaded signature."""
    if hasattr(function, "structured_input_signature"):
        return function.structured_input_signature[1]
    return {spec.name: spec for spec in function.input_signature}


def warmup_requests(model_name: str, signatures: dict) -> list[WarmupRequest]:
    """One PredictRequest per servable signature, with a small input."""
    requests = []
    for signature_name, function in signatures.items():
        (input_name, spec), = _input_specs(function).items()
        if spec.dtype == tf.string:
            value = tf.make_tensor_proto([sample_jpeg()], dtype=tf.string)
        elif spec.dtype == tf.uint8:
            value = tf.make_tensor_proto(tf.io.decode_jpeg(sample_jpeg())[None].numpy())
        else:  # float images: batch 1, 64x64 where the size is free, all zeros
            shape = [1] + [64 if d is None else d for d in spec.shape[1:]]
            value = tf.make_tensor_proto(np.zeros(shape, spec.dtype.as_numpy_dtype))
        requests.append(WarmupRequest(model_name, signature_name, {input_name: value}))
    return requests


def write_warmup(export_dir: str, requests: list[WarmupRequest]) -> str:
    path = os.path.join(export_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for request in requests:
            writer.write(request.prediction_log())
    return path


def _text_string(value: str) -> str:
    """A string literal as protobuf's text format prints it: C escapes, octal for other
    ASCII control characters, the rest of Unicode as is (the file is UTF-8)."""
    escapes = {"\\": "\\\\", '"': '\\"', "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return '"' + "".join(
        escapes.get(c, c if ord(c) >= 32 and c != "\x7f" else f"\\{ord(c):03o}")
        for c in value) + '"'


def models_config(names, container_root: str = "/models") -> str:
    """A `--model_config_file`: a `tensorflow.serving.ModelServerConfig` in protobuf
    text format, one `config` per exported model."""
    entries = "".join(
        "  config {\n"
        f"    name: {_text_string(name)}\n"
        f"    base_path: {_text_string(f'{container_root}/{name}')}\n"
        '    model_platform: "tensorflow"\n'
        "  }\n" for name in names)
    return "model_config_list {\n" + entries + "}\n"


def export_servable(module: tf.Module, base_dir: str, name: str, version: int) -> str:
    """Writes `base_dir/name/version/` with signatures and warm-up requests."""
    export_dir = os.path.join(base_dir, name, str(version))
    if os.path.exists(export_dir):
        raise FileExistsError(f"{export_dir} exists: TF Serving versions are immutable; "
                              "pick a new --version")
    signatures = module.signatures()
    tf.saved_model.save(module, export_dir, signatures=signatures)
    write_warmup(export_dir, warmup_requests(name, signatures))
    return export_dir


def export_models(specs, base_dir: str, version: int, settings=None,
                  min_quality: float = gate.DEFAULT) -> list[str]:
    """Exports each spec and writes `base_dir/models.config`; returns the model names.

    A spec is `protect_<method>` for a registered protection with a serving form
    (`servable_methods()`; `settings`, a flat dict of setting values such as
    `{"perturbation": ...}`, configures it; its output is held to the quality gate at
    `min_quality`), an architecture name (ported from its
    installed default weights) or `ARCH:WEIGHT_FILE`. A stylizer architecture also
    gives `protect_<arch>`.
    """
    from pp_tf import export, image_io, models

    names = []
    for spec in specs:
        if spec.startswith("protect_"):
            export_servable(protect_module(spec[len("protect_"):], settings, spec, min_quality),
                            base_dir, spec, version)
            names.append(spec)
            continue
        arch, _, source = spec.partition(":")
        module = export.module_for(arch, models.build_ported(arch, source or None))
        export_dir = export_servable(module, base_dir, arch, version)
        names.append(arch)
        if models.get(arch).kind == "stylizer":
            protect_name = f"protect_{arch}"
            export_servable(stylizer_protect_module(export_dir, protect_name, min_quality),
                            base_dir, protect_name, version)
            names.append(protect_name)
    image_io.write_bytes_atomic(models_config(names).encode(),
                                os.path.join(base_dir, "models.config"), overwrite=True)
    return names
