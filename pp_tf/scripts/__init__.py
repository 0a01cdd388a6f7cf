"""Thin absl command-line entry points: flags in, one library call, results out."""

import os

# TensorFlow's C++ start-up chatter is not for end users; TF_CPP_MIN_LOG_LEVEL=0 restores it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
