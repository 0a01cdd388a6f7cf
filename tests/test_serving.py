"""TF Serving exports, exercised through the serving protos (no model server here:
`tensorflow_model_server` cannot be installed on these machines; see BUILD_NOTES.md).

What is covered: the SavedModel layout and signatures as `saved_model_cli` shows
them, every signature through `tf.saved_model.load`, a gRPC Predict round trip
with the real `tensorflow_serving.apis` protos against a minimal in-test
PredictionService on 127.0.0.1, the REST body of the README, the warm-up records,
and models.config. What is not: the model server's own loading and batching.
"""

import base64
import io
import json
import os
import subprocess
import sys
from concurrent import futures

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

grpc = pytest.importorskip("grpc")
pytest.importorskip("tensorflow_serving")
from google.protobuf import text_format  # noqa: E402
from tensorflow_serving.apis import (predict_pb2, prediction_log_pb2,  # noqa: E402
                                     prediction_service_pb2_grpc)
from tensorflow_serving.config import model_server_config_pb2  # noqa: E402

from conftest import ROOT  # noqa: E402
from pp_tf import models, perturbation, serving  # noqa: E402
from pp_tf.models import preprocessing  # noqa: E402

UAP = os.path.join(ROOT, "saved_models", "uap_efficientnet_lite0_linf10.npy")


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("serving")
    result = subprocess.run(
        [sys.executable, "-m", "pp_tf.scripts.export_serving",
         "--models=efficientnet_lite0,protect_uap", f"--output_dir={base}", "--version=3",
         f"--perturbation={UAP}"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return str(base)


def model_dir(base, name):
    return os.path.join(base, name, "3")


def photo_jpeg(size=(90, 120)):
    y, x = np.mgrid[0:size[0], 0:size[1]]
    pixels = np.stack([x * 2 % 256, y * 3 % 256, (x * y) % 256], -1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_saved_model_cli_shows_the_signatures(base_dir):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", model_dir(base_dir, "protect_uap"), "--all"],
                           capture_output=True, text=True, timeout=300).stdout
    block = shown[shown.index("signature_def['protect_bytes']"):]
    block = block[: block.index("Method name")]
    assert "inputs['image_bytes']" in block and "outputs['protected_bytes']" in block
    assert block.count("dtype: DT_STRING") == 2 and block.count("shape: (-1)") == 2
    default = shown[shown.index("signature_def['serving_default']"):]
    assert "inputs['images']" in default and "dtype: DT_UINT8" in default
    assert "shape: (-1, -1, -1, 3)" in default
    shown = subprocess.run([cli, "show", "--dir", model_dir(base_dir, "efficientnet_lite0"),
                            "--tag_set", "serve", "--signature_def", "serving_default"],
                           capture_output=True, text=True, timeout=300).stdout
    assert "outputs['logits']" in shown and "outputs['probabilities']" in shown
    assert "shape: (-1, 1000)" in shown


def test_every_signature_runs_after_loading(base_dir):
    for name in ("efficientnet_lite0", "protect_uap"):
        loaded = tf.saved_model.load(model_dir(base_dir, name))
        for request in serving.warmup_requests(name, loaded.signatures):
            signature = loaded.signatures[request.signature_name]
            inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
            outputs = signature(**inputs)
            assert all(int(t.shape[0]) == 1 for t in outputs.values())


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """The Predict call of TF Serving, minimally: load, run the signature, return tensors."""

    def __init__(self, base_dir, version):
        self.base_dir, self.version, self.loaded = base_dir, version, {}

    def Predict(self, request, context):  # noqa: N802 - the proto's name
        name = request.model_spec.name
        if name not in self.loaded:
            self.loaded[name] = tf.saved_model.load(os.path.join(self.base_dir, name, self.version))
        signature = self.loaded[name].signatures[request.model_spec.signature_name or
                                                 "serving_default"]
        outputs = signature(**{k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()})
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
        return response


@pytest.fixture(scope="module")
def grpc_stub(base_dir):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(base_dir, "3"), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    channel.close()
    server.stop(None)


def test_grpc_round_trip_equals_the_direct_keras_call(grpc_stub):
    photos = np.stack([np.asarray(Image.open(io.BytesIO(photo_jpeg())))] * 2)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "efficientnet_lite0"
    request.model_spec.signature_name = "serving_default"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(photos))
    response = grpc_stub.Predict(request, timeout=120)
    logits = tf.make_ndarray(response.outputs["logits"])
    model = models.build_ported("efficientnet_lite0")
    direct = model(preprocessing.classifier_view(photos), training=False).numpy()
    np.testing.assert_allclose(logits, direct, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["probabilities"]).sum(-1), 1,
                               atol=1e-5)


def test_grpc_protect_bytes_equals_the_library(grpc_stub):
    data = photo_jpeg()
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "protect_uap"
    request.model_spec.signature_name = "protect_bytes"
    request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto([data], dtype=tf.string))
    response = grpc_stub.Predict(request, timeout=120)
    protected, = tf.make_ndarray(response.outputs["protected_bytes"])
    assert protected[:2] == b"\xff\xd8"  # JPEG in, JPEG out
    decoded = np.asarray(Image.open(io.BytesIO(protected)))
    assert not Image.open(io.BytesIO(protected)).getexif()
    direct = serving.protect_module("uap", {"perturbation": UAP}).protect_bytes(
        tf.constant([data]))["protected_bytes"].numpy()[0]
    assert protected == direct
    # And the pixels are the library's protection, up to JPEG q95 re-encoding.
    expected = perturbation.apply_perturbation(np.asarray(Image.open(io.BytesIO(data))),
                                               np.load(UAP), "tile")
    assert np.abs(decoded.astype(int) - expected).mean() < 3.0


def rest_inputs(body, signature):
    """TF Serving's REST 'instances' (row) format: a list of per-example values, where
    {"b64": ...} is binary, into the signature's named batched inputs."""
    (name, spec), = signature.structured_input_signature[1].items()
    rows = [row[name] if isinstance(row, dict) and "b64" not in row else row
            for row in body["instances"]]
    values = [base64.b64decode(r["b64"]) if isinstance(r, dict) else r for r in rows]
    return {name: tf.constant(values, dtype=spec.dtype)}


def test_rest_body_of_the_readme_decodes_into_the_signature(base_dir):
    body = json.loads(json.dumps({"signature_name": "protect_bytes", "instances": [
        {"b64": base64.b64encode(photo_jpeg()).decode()}]}))
    loaded = tf.saved_model.load(model_dir(base_dir, "protect_uap"))
    signature = loaded.signatures[body["signature_name"]]
    outputs = signature(**rest_inputs(body, signature))
    (key, value), = outputs.items()
    assert key.endswith("_bytes")  # so the REST API answers {"b64": ...}
    direct = serving.protect_module("uap", {"perturbation": UAP}).protect_bytes(
        tf.constant([photo_jpeg()]))["protected_bytes"]
    assert value.numpy()[0] == direct.numpy()[0]


def test_warmup_records_parse_as_predict_requests(base_dir):
    for name, signatures in (("efficientnet_lite0", {"serving_default", "logits_from_pixels"}),
                             ("protect_uap", {"serving_default", "protect_bytes"})):
        path = os.path.join(model_dir(base_dir, name), "assets.extra", "tf_serving_warmup_requests")
        logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy())
                for r in tf.data.TFRecordDataset(path)]
        assert {log.predict_log.request.model_spec.signature_name for log in logs} == signatures
        assert all(log.predict_log.request.model_spec.name == name for log in logs)


def real_predict_request(request):
    """The same request built with the real tensorflow_serving protos."""
    real = predict_pb2.PredictRequest()
    real.model_spec.name = request.model_name
    real.model_spec.signature_name = request.signature_name
    for key, value in request.inputs.items():
        real.inputs[key].CopyFrom(value)
    return real


def test_warmup_records_are_the_real_protos_byte_for_byte():
    """The hand-written wire format (no tensorflow-serving-api needed to export) against
    the real protos: string, uint8 and float inputs, a long (multi-byte length) input,
    several inputs (a map, written in key order) and an empty signature name."""
    module = serving.ProtectModule(lambda images: images, "protect_uap")
    floats = tf.function(lambda x: {"y": x}, input_signature=[
        tf.TensorSpec([None, 224, 224, 3], tf.float32, name="pixels")])
    requests = serving.warmup_requests("protect_uap", {**module.signatures(), "floats": floats})
    assert [r.signature_name for r in requests] == ["serving_default", "protect_bytes", "floats"]
    assert requests[2].inputs["pixels"].tensor_shape.dim[1].size == 224
    requests += [serving.WarmupRequest("m", "", {
        "b": tf.make_tensor_proto(np.arange(5000, dtype=np.int32)),
        "a": tf.make_tensor_proto([b"x" * 300], dtype=tf.string)})]
    for request in requests:
        real = real_predict_request(request)
        assert request.serialize() == real.SerializeToString(deterministic=True)
        assert predict_pb2.PredictRequest.FromString(request.serialize()) == real
        log = prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=real))
        assert request.prediction_log() == log.SerializeToString(deterministic=True)
        assert prediction_log_pb2.PredictionLog.FromString(request.prediction_log()) == log


def test_models_config_is_the_real_text_format():
    for names, root in ((["efficientnet_lite0", "protect_uap"], "/models"),
                        (["a"], "/it's \"here\"\\\t\x01\x7f"),
                        (["b"], "/m\u00f6dels")):  # UTF-8: printed as is or escaped by version
        config = model_server_config_pb2.ModelServerConfig()
        for name in names:
            config.model_config_list.config.add(name=name, base_path=f"{root}/{name}",
                                                model_platform="tensorflow")
        written = serving.models_config(names, root)
        assert text_format.Parse(written, model_server_config_pb2.ModelServerConfig()) == config
        if root.isascii():
            assert written == text_format.MessageToString(config)


def test_models_config_lists_every_export(base_dir):
    config = text_format.Parse(open(os.path.join(base_dir, "models.config")).read(),
                               model_server_config_pb2.ModelServerConfig())
    assert [(c.name, c.base_path, c.model_platform) for c in config.model_config_list.config] == [
        ("efficientnet_lite0", "/models/efficientnet_lite0", "tensorflow"),
        ("protect_uap", "/models/protect_uap", "tensorflow")]


def test_versions_are_never_overwritten(base_dir):
    with pytest.raises(FileExistsError, match="immutable"):
        serving.export_servable(serving.ProtectModule(lambda images: images, "protect_uap"),
                                base_dir, "protect_uap", 3)


def test_tf_perturbation_equals_the_library(rng):
    v = rng.uniform(-10, 10, (224, 224, 3)).astype(np.float32)
    for shape in [(300, 400, 3), (100, 150, 3), (1, 1, 3)]:
        photo = rng.integers(0, 256, shape, dtype=np.uint8)
        for placement in ("tile", "crop"):
            np.testing.assert_array_equal(
                perturbation.perturb(photo[None], v, placement).numpy()[0],
                perturbation.apply_perturbation(photo, v, placement))


@pytest.mark.slow
def test_nima_stylizer_and_protect_style_exports(tmp_path):
    """`ARCH:FILE` specs: NIMA from a Keras-2 h5 and CycleGAN from a junyanz-format .pth,
    which also gives protect_cyclegan_resnet9; every signature runs on its warm-up
    PredictRequests, and protect_bytes restyles a JPEG into a JPEG of the same size."""
    torch = pytest.importorskip("torch")
    import torch_reference_gan
    from test_ports import _write_keras2_nima_h5

    nima_file = tmp_path / "weights_mobilenet_aesthetic_0.07.hdf5"
    _write_keras2_nima_h5(nima_file, np.random.default_rng(0))
    generator_file = tmp_path / "style_ukiyoe.pth"
    torch.save(torch_reference_gan.ResnetGenerator(ngf=64, n_blocks=9).state_dict(), generator_file)
    base = str(tmp_path / "serving")
    names = serving.export_models([f"nima_mobilenet:{nima_file}",
                                   f"cyclegan_resnet9:{generator_file}"], base, 1)
    assert names == ["nima_mobilenet", "cyclegan_resnet9", "protect_cyclegan_resnet9"]
    for name in names:
        export_dir = os.path.join(base, name, "1")
        loaded = tf.saved_model.load(export_dir)
        logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in
                tf.data.TFRecordDataset(os.path.join(export_dir, serving.WARMUP_FILE))]
        assert {log.predict_log.request.model_spec.signature_name for log in logs} == set(
            loaded.signatures)
        for log in logs:
            request = log.predict_log.request
            outputs = loaded.signatures[request.model_spec.signature_name](
                **{k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()})
            if name == "nima_mobilenet":
                assert 1 <= float(outputs["mean_score"][0]) <= 10
    protect = tf.saved_model.load(os.path.join(base, "protect_cyclegan_resnet9", "1"))
    out = protect.signatures["protect_bytes"](image_bytes=tf.constant([photo_jpeg((90, 120))]))
    styled = Image.open(io.BytesIO(out["protected_bytes"].numpy()[0]))
    assert styled.format == "JPEG" and styled.size == (120, 90)
