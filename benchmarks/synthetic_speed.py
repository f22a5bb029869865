"""Updates per second on temporal order: keras_rnncr SGD-C/SGD-CR vs Keras SimpleRNN.

All models have the paper's sizes (6 inputs, 50 tanh units, 4-way softmax at the
last step, batch 20, SGD at learning rate 0.01) and train on temporal order at one
fixed length (`--length`, so that XLA compiles once). Variants:

* `fit/tf.data`: `model.fit` on `keras_rnncr.tasks.temporal_order` (tf.data,
  numpy generator inside `tf.numpy_function`, prefetch), with and without
  `jit_compile`;
* `fit/generator`: `model.fit` on a plain Python generator of numpy batches;
* `loop/numpy`: one `tf.function` (XLA) training step called on numpy batches
  (the step of `benchmarks/reproduce_synthetic.py`);
* `joint-3`: three models (three seeds) stepped inside one XLA `tf.function`,
  each with its own optimizer; counted as model updates per second.

Methods: `keras` (`keras.layers.SimpleRNN` + `keras.optimizers.SGD`), `sgd-c`
and `sgd-cr` (`keras_rnncr.tasks.task_model`: `ClippedOptimizer`, plus Omega with
alpha 4). Each variant runs `--steps` timed updates after `--warmup` updates, in
`--rounds` rounds taking turns; the median of the rounds is reported, both per
wall-clock second and per CPU second of this process (`time.process_time`, all
its threads). On a shared machine the CPU-second rate is the fair comparison: it
does not count time in which other jobs held the cores. Run:

    nice -n 10 python benchmarks/synthetic_speed.py --threads 1 \\
        --json benchmarks/results/synthetic_speed.json
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

import keras
import numpy as np
import tensorflow as tf

import keras_rnncr

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from reproduce_synthetic import JointTrainer  # noqa: E402

TASK = "temporal_order"


def keras_model(seed):
    """The paper's model with Keras's own SimpleRNN and plain SGD."""
    init = keras_rnncr.initializers.paper_initializers("basic_tanh", seed=seed)
    inputs = keras.Input((None, 6))
    hidden = keras.layers.SimpleRNN(
        50,
        activation=init["activation"],
        kernel_initializer=init["kernel_initializer"],
        recurrent_initializer=init["recurrent_initializer"],
    )(inputs)
    outputs = keras.layers.Dense(
        4, activation="softmax", kernel_initializer=init["output_initializer"]
    )(hidden)
    return keras.Model(inputs, outputs)


def build(method, seed, jit_compile):
    if method == "keras":
        model = keras_model(seed)
        model.compile(
            optimizer=keras.optimizers.SGD(0.01),
            loss="sparse_categorical_crossentropy",
            jit_compile=jit_compile,
        )
        return model
    return keras_rnncr.tasks.task_model(
        TASK, method=method, seed=seed, jit_compile=jit_compile
    )


def clocks():
    return np.array([time.perf_counter(), time.process_time()])


class BatchTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(clocks())


def numpy_batches(length, seed):
    for index in range(10**9):
        yield keras_rnncr.tasks.temporal_order_batch(
            length, 20, np.random.default_rng([seed, index])
        )


class FitVariant:
    """Times `model.fit` on tf.data or a Python generator."""

    def __init__(self, method, jit_compile, source, args):
        self.model = build(method, 0, jit_compile)
        if source == "tf.data":
            self.data = keras_rnncr.tasks.temporal_order(
                args.length, args.length, 20, seed=0
            )
        else:
            self.data = numpy_batches(args.length, 0)
        self.args = args

    def rate(self):
        timer = BatchTimer()
        warmup, steps = self.args.warmup, self.args.steps
        self.model.fit(
            self.data,
            steps_per_epoch=warmup + steps,
            epochs=1,
            verbose=0,
            callbacks=[timer],
        )
        return steps / (timer.times[-1] - timer.times[warmup - 1])


class LoopVariant:
    """Times the XLA training step of `reproduce_synthetic.py` on numpy batches."""

    def __init__(self, method, num_models, args):
        self.models = [build(method, seed, True) for seed in range(num_models)]
        self.trainer = JointTrainer(self.models, jit_compile=True)
        self.batches = [numpy_batches(args.length, seed) for seed in range(num_models)]
        self.args = args

    def run(self, steps):
        for _ in range(steps):
            pairs = [next(batches) for batches in self.batches]
            self.trainer.step(
                [tf.constant(x) for x, _ in pairs], [tf.constant(y) for _, y in pairs]
            )

    def rate(self):
        self.run(self.args.warmup)
        start = clocks()
        self.run(self.args.steps)
        return len(self.models) * self.args.steps / (clocks() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    variants = {}
    for method in ("keras", "sgd-c", "sgd-cr"):
        for jit in (False, True):
            name = f"{method} fit/tf.data jit={jit}"
            variants[name] = FitVariant(method, jit, "tf.data", args)
        variants[f"{method} fit/generator jit=True"] = FitVariant(
            method, True, "generator", args
        )
        variants[f"{method} loop/numpy xla"] = LoopVariant(method, 1, args)
        variants[f"{method} joint-3 loop/numpy xla"] = LoopVariant(method, 3, args)
    wall = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    start = time.perf_counter()
    for round_index in range(args.rounds):
        for name, variant in variants.items():
            wall_rate, cpu_rate = variant.rate()
            wall[name].append(wall_rate)
            cpu[name].append(cpu_rate)
            print(
                f"round {round_index} {name}: {wall_rate:.1f} updates/s wall, "
                f"{cpu_rate:.1f} updates per CPU second"
            )
    median = {name: statistics.median(values) for name, values in wall.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    baseline = "keras fit/tf.data jit=False"
    print(f"\nlength {args.length}, median of {args.rounds} rounds (updates/s):")
    print(f"{'variant':40s} {'wall':>8s} {'CPU':>8s}  CPU vs {baseline}")
    for name in variants:
        print(
            f"{name:40s} {median[name]:8.1f} {median_cpu[name]:8.1f}  "
            f"{median_cpu[name] / median_cpu[baseline]:.2f}x"
        )
    if args.json:
        report = {
            "command": " ".join(sys.argv),
            "task": TASK,
            "length": args.length,
            "batch_size": 20,
            "units": 50,
            "steps": args.steps,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "threads": args.threads,
            "wall_seconds": time.perf_counter() - start,
            "machine": {
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
            },
            "updates_per_wall_second_median": median,
            "updates_per_cpu_second_median": median_cpu,
            "updates_per_wall_second_rounds": wall,
            "updates_per_cpu_second_rounds": cpu,
            "baseline": baseline,
        }
        pathlib.Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
