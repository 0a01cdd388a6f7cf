#!/usr/bin/env bash
# The GPU benchmark suite of issue 12, in one command (about 8 minutes on one H100):
#
#   benchmarks/gpu_suite.sh            # full sizes
#   benchmarks/gpu_suite.sh --smoke    # tiny sizes, on a CPU too (tests/test_benchmarks.py)
#
# PYTHON picks the interpreter (default: python). Everything is in gpu_suite.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" benchmarks/gpu_suite.py "$@"
