"""Choosing the tf.distribute strategy for a training run.

* ``TF_CONFIG`` set: `tf.distribute.MultiWorkerMirroredStrategy` (one process per
  worker; every worker runs the same program).
* Otherwise: `tf.distribute.MirroredStrategy` over the visible GPUs, or over the
  CPU's logical devices when there is no GPU (one device unless
  `configure_cpu_replicas` split the CPU first).
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf


def configure_cpu_replicas(n: int) -> None:
    """Splits the first physical CPU into `n` logical devices (for testing replicas on a CPU).

    Must run before the TensorFlow runtime initialises (before the first op or
    device query that creates the context).

    Raises:
        RuntimeError: the runtime is already initialised, or `n` < 1.
    """
    if n < 1:
        raise RuntimeError(f"cpu replicas must be >= 1, got {n}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError as error:
        raise RuntimeError(
            f"cannot split the CPU into {n} logical devices: the TensorFlow runtime is already "
            f"initialised ({error}); configure replicas before any TF op runs") from None


def multi_worker() -> bool:
    """Whether TF_CONFIG describes a cluster (then the run is multi-worker)."""
    config = os.environ.get("TF_CONFIG")
    if not config:
        return False
    return bool(json.loads(config).get("cluster"))


def make_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy under TF_CONFIG, else MirroredStrategy on the local devices."""
    if multi_worker():
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy([device.name for device in gpus])
    cpus = tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in cpus])


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True except on the non-chief workers of a multi-worker run (who must not write outputs)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    spec = resolver.cluster_spec().as_dict()
    if "chief" in spec:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0


def worker_id(strategy: tf.distribute.Strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id or 0) if resolver is not None and resolver.task_type else 0


def task_name(strategy: tf.distribute.Strategy) -> str:
    """``<task type>-<index>`` of this worker (``chief-0`` outside a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "chief-0"
    return f"{resolver.task_type}-{int(resolver.task_id or 0)}"


def common_values(strategy: tf.distribute.Strategy, values: list[int], length: int = 64
                  ) -> set[int]:
    """The values (non-negative ints, at most `length`) that every worker of the cluster holds.

    Every worker must call this together (a collective gather); outside a cluster it
    is `set(values)`.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return set(values)
    padded = np.full([length], -1, np.int64)
    kept = sorted(values, reverse=True)[:length]
    padded[:len(kept)] = kept
    local = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(padded))
    rows = strategy.gather(local, axis=0).numpy().reshape(-1, length)
    return set.intersection(*(set(int(v) for v in row if v >= 0) for row in rows))
