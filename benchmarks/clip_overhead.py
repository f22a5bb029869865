"""Step-time overhead of ClippedOptimizer versus Keras's own `global_clipnorm`.

Trains the same SimpleRNN regressor with
`ClippedOptimizer(SGD(lr), threshold=1.0)` and with `SGD(lr, global_clipnorm=1.0)`
on one device and on 2 replicas (`MirroredStrategy` over 2 logical CPU devices),
and prints the median step time of each and the median ratio. Blocks of steps of
the two optimizers are interleaved and compared pairwise, so that drift of the
machine affects both alike.

Run from the repository root: `PYTHONPATH=. python benchmarks/clip_overhead.py`
(about 40 s on a 2-core CPU).
"""

import argparse
import os
import platform
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# Two logical CPU devices must be configured before TensorFlow initialises them.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration()] * 2,
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_rnncr.optimizers import ClippedOptimizer  # noqa: E402


class _StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def _build(optimizer, strategy, args):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((args.timesteps, args.features)),
                keras.layers.SimpleRNN(args.units),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer=optimizer, loss="mse")
    return model


def _median_step_times(strategy, args):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch * args.steps, args.timesteps, args.features))
    y = 10.0 * rng.normal(size=(args.batch * args.steps, 1))
    x, y = x.astype("float32"), y.astype("float32")
    models = {
        "ClippedOptimizer": _build(
            ClippedOptimizer(keras.optimizers.SGD(0.01), threshold=1.0),
            strategy,
            args,
        ),
        "global_clipnorm": _build(
            keras.optimizers.SGD(0.01, global_clipnorm=1.0), strategy, args
        ),
    }
    for model in models.values():  # trace and warm up
        model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0)
    medians = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            timer = _StepTimer()
            model.fit(
                x, y, batch_size=args.batch, epochs=1, verbose=0, callbacks=[timer]
            )
            medians[name].append(float(np.median(timer.times)))
    # Ratio of each interleaved pair of blocks, so that drift cancels.
    ratios = np.divide(medians["ClippedOptimizer"], medians["global_clipnorm"])
    return (
        {name: float(np.median(m)) for name, m in medians.items()},
        float(np.median(ratios)),
        (float(np.percentile(ratios, 25)), float(np.percentile(ratios, 75))),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--timesteps", type=int, default=50)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="steps per block")
    parser.add_argument("--repeats", type=int, default=30, help="blocks per model")
    args = parser.parse_args()

    print(
        f"TF {tf.__version__}, Keras {keras.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPU cores, "
        f"{platform.processor() or platform.machine()}"
    )
    print(
        f"SimpleRNN({args.units}) on (batch {args.batch}, {args.timesteps} steps, "
        f"{args.features} features); {args.repeats} interleaved blocks of "
        f"{args.steps} steps, median over blocks"
    )
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    setups = {
        "1 device": tf.distribute.get_strategy(),
        "2 replicas": tf.distribute.MirroredStrategy(cpus[:2]),
    }
    for label, strategy in setups.items():
        times, ratio, (low, high) = _median_step_times(strategy, args)
        print(
            f"{label:>10}: ClippedOptimizer {1e3 * times['ClippedOptimizer']:.2f} ms"
            f"/step, global_clipnorm {1e3 * times['global_clipnorm']:.2f} ms/step, "
            f"ratio {ratio:.3f} (interquartile {low:.3f}-{high:.3f})"
        )


if __name__ == "__main__":
    main()
