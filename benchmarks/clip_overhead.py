"""Step-time overhead of ClippedOptimizer versus Keras's own `global_clipnorm`.

Trains the same SimpleRNN regressor with
`ClippedOptimizer(SGD(lr), threshold=1.0)` (A) and with
`SGD(lr, global_clipnorm=1.0)` (B), on one device (graph mode and
`jit_compile=True`) and on 2 replicas (`MirroredStrategy` over 2 logical CPU
devices). A shared machine drifts, so the two are measured in interleaved
rounds: each round runs one block of `--steps` steps of A and one of B, in a
random order, and takes the ratio of their median step times. The result is
the median of the per-round ratios with a 95% bootstrap interval (resampling
rounds) and the interquartile range of the ratios.

Run from the repository root (about 3 minutes on a 2-core CPU):
`PYTHONPATH=. python benchmarks/clip_overhead.py`
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

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_rnncr.optimizers import ClippedOptimizer  # noqa: E402


def _build(optimizer, strategy, jit_compile, args):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((args.timesteps, args.features)),
                keras.layers.SimpleRNN(args.units),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer=optimizer, loss="mse", jit_compile=jit_compile)
    return model


def _block_median(model, x, y, batch):
    timer = _common.step_timer()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=[timer])
    return float(np.median(timer.seconds))


def _measure(strategy, jit_compile, args):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch * args.steps, args.timesteps, args.features))
    y = 10.0 * rng.normal(size=(args.batch * args.steps, 1))
    x, y = x.astype("float32"), y.astype("float32")
    models = {
        "ClippedOptimizer": _build(
            ClippedOptimizer(keras.optimizers.SGD(0.01), threshold=1.0),
            strategy,
            jit_compile,
            args,
        ),
        "global_clipnorm": _build(
            keras.optimizers.SGD(0.01, global_clipnorm=1.0),
            strategy,
            jit_compile,
            args,
        ),
    }
    for model in models.values():  # trace, compile and warm up
        for _ in range(2):
            _block_median(model, x, y, args.batch)
    order = np.random.default_rng(1)
    times = {name: [] for name in models}
    for _ in range(args.rounds):
        names = list(models)
        order.shuffle(names)
        for name in names:
            times[name].append(_block_median(models[name], x, y, args.batch))
    ratios = np.divide(times["ClippedOptimizer"], times["global_clipnorm"])
    return {
        "times": {name: float(np.median(t)) for name, t in times.items()},
        "ratio": float(np.median(ratios)),
        "bootstrap": _common.median_interval(ratios, args.resamples),
        "quartiles": (
            float(np.percentile(ratios, 25)),
            float(np.percentile(ratios, 75)),
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--timesteps", type=int, default=50)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="steps per block")
    parser.add_argument("--rounds", type=int, default=60, help="A/B rounds")
    parser.add_argument("--resamples", type=int, default=5000, help="bootstrap")
    parser.add_argument(
        "--threads", type=int, default=0, help="TF intra/inter-op threads (0: TF)"
    )
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    print(
        f"TF {tf.__version__}, Keras {keras.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPU cores, "
        f"{platform.processor() or platform.machine()}, threads {args.threads}"
    )
    print(f"provenance: {_common.provenance()}")
    print(
        f"SimpleRNN({args.units}) on (batch {args.batch}, {args.timesteps} steps, "
        f"{args.features} features); {args.rounds} rounds of one {args.steps}-step "
        "block each in random order; ratio = median over rounds of "
        "ClippedOptimizer / global_clipnorm block-median step time"
    )
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    setups = [
        ("1 device", tf.distribute.get_strategy(), False),
        ("1 device, jit_compile", tf.distribute.get_strategy(), True),
        ("2 replicas", tf.distribute.MirroredStrategy(cpus[:2]), False),
    ]
    for label, strategy, jit_compile in setups:
        start = time.perf_counter()
        result = _measure(strategy, jit_compile, args)
        times = result["times"]
        low, high = result["bootstrap"]
        q1, q3 = result["quartiles"]
        print(
            f"{label:>22}: ClippedOptimizer "
            f"{1e3 * times['ClippedOptimizer']:.2f} ms/step, global_clipnorm "
            f"{1e3 * times['global_clipnorm']:.2f} ms/step, ratio "
            f"{result['ratio']:.3f} (95% bootstrap {low:.3f}-{high:.3f}; "
            f"interquartile {q1:.3f}-{q3:.3f}) [{time.perf_counter() - start:.0f} s]",
            flush=True,
        )


if __name__ == "__main__":
    main()
