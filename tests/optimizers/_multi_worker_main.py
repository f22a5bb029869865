"""One worker of the MultiWorkerMirroredStrategy test (run as a subprocess).

Usage: python _multi_worker_main.py OUTPUT_NPZ, with TF_CONFIG set.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _clipping_models import (
    GLOBAL_BATCH,  # noqa: E402
    make_data,  # noqa: E402
    make_model,  # noqa: E402
)

from keras_rnncr.optimizers import ClippedOptimizer  # noqa: E402

STEPS = 3


def main(output):
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    x, y = make_data()
    with strategy.scope():
        model = make_model()
        model.compile(
            optimizer=ClippedOptimizer(keras.optimizers.SGD(0.1), threshold=1.0),
            loss="mse",
        )
        model.optimizer.build(model.trainable_variables)
    # Keras 3.15 `fit` fails under MultiWorkerMirroredStrategy before the first
    # step (`_maybe_symbolic_build` reduces a PerReplica batch), so drive the
    # model's own `train_step` the way `fit` does.
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    batches = strategy.experimental_distribute_dataset(dataset)

    @tf.function
    def train_step(batch):
        strategy.run(model.train_step, args=(batch,))

    for _ in range(STEPS):
        for batch in batches:
            train_step(batch)
    stats = model.optimizer.statistics()
    np.savez(
        output,
        *model.get_weights(),
        replicas=strategy.num_replicas_in_sync,
        clipped_steps=stats["clipped_steps"],
        grad_norm=stats["grad_norm"],
    )


if __name__ == "__main__":
    main(sys.argv[1])
