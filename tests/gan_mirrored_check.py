"""Helper for test_train_gan: CycleGAN steps on 2 logical CPU devices, run in its own process.

Logical devices must be configured before the TF runtime starts, so this runs
as `python gan_mirrored_check.py DATA_DIR OUTPUT_DIR STEPS` and prints one JSON
line: the loss history and the variables whose replica values differ; and, for
a copy of the run's folder as a kill while writing the last checkpoint leaves it,
resumed from the checkpoint at STEPS / 2, whether every replica's image
pools and the generators ended as in the uninterrupted run.
"""

import json
import os
import shutil
import sys

import numpy as np

from pp_tf.gan import distribute

distribute.configure_cpu_replicas(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from replica_values import replica_values_equal  # noqa: E402

from pp_tf.gan import loop  # noqa: E402
from pp_tf.gan.cyclegan_trainer import CycleGANSettings  # noqa: E402


def _config(data_dir, output_dir, steps, resume=False, checkpoint_every=10_000):
    return loop.TrainConfig(
        model=CycleGANSettings(ngf=8, n_blocks=1, ndf=8),
        data=loop.DataConfig(domain_a=f"{data_dir}/A", domain_b=f"{data_dir}/B", image_size=32),
        run=loop.RunConfig(output_dir=output_dir, steps=steps, batch_size=4, seed=1,
                           deterministic=True, resume=resume, checkpoint_every=checkpoint_every,
                           summary_every=10_000))


def _pools(trainer):
    return [v.numpy() for pool in (trainer.pool_a, trainer.pool_b)
            for v in pool.component_variables()]


def main(data_dir: str, output_dir: str, steps: int) -> None:
    result = loop.train_gan(_config(data_dir, output_dir, steps, checkpoint_every=steps // 2),
                            strategy=distribute.make_strategy())
    trainer, strategy = result.trainer, result.strategy
    variables = [v for model in trainer.models().values() for v in model.variables]
    variables += list(trainer.opt_g.variables) + list(trainer.opt_d.variables)
    pool = trainer.pool_a.component_variables()

    # What a kill while writing the last checkpoint leaves: its files, but no manifest.
    interrupted = output_dir + "_interrupted"
    shutil.copytree(output_dir, interrupted)
    os.unlink(os.path.join(interrupted, "checkpoints", f"ckpt-{steps}.manifest.json"))
    resumed = loop.train_gan(_config(data_dir, interrupted, steps, resume=True),
                             strategy=strategy)
    expected, actual = _pools(trainer), _pools(resumed.trainer)
    generators = [(a.numpy(), b.numpy()) for name, model in trainer.generators().items()
                  for a, b in zip(model.variables, resumed.trainer.generators()[name].variables)]
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "g_total": [entry["g_total"] for entry in result.history],
        "checked": len(variables),
        "differing": replica_values_equal(strategy, variables),
        "pools_per_replica": len(pool) // 2,
        "pool_counts": [int(v.numpy()) for v in pool[len(pool) // 2:]],
        "resumed_from": resumed.start_step,
        "replica_pools_differ": not np.array_equal(expected[0], expected[1]),
        "resumed_pools_equal": [bool(np.array_equal(a, b)) for a, b in zip(expected, actual)],
        "resumed_generators_equal": all(np.array_equal(a, b) for a, b in generators),
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
