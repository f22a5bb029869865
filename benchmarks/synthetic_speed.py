"""Model-updates per second of `MultiRunTrainer` against `fit` and the machine's bound.

The paper's temporal-order model (6 inputs, 50 tanh units, 4-way softmax at the
last step, batch 20, SGD-CR: alpha 4, threshold 1) at a fixed length `T`. Per
wall-clock second (and per CPU second of the process, beside it), in one
process, rounds taking turns, median over rounds:

* `fit`: one `keras_rnncr.tasks.task_model` trained by `model.fit` with
  `jit_compile=True` on the task's `tf.data` pipeline (the baseline);
* `joint-K`: K task_models stepped inside one XLA `tf.function`, each with its
  own optimizer (the previous sweep's trainer), for K <= 15;
* `stacked-K`: `keras_rnncr.tasks.MultiRunTrainer` with K runs (weights on a run
  axis, batched products), counted as model updates (K per step), data
  generation included, as a user gets it (`parts="auto"`: groups of runs side by
  side, one per thread TensorFlow may use);
* `stacked1-K`: the same in one group (`parts=1`), one compiled computation;
* `bound-K`: the bare chain of batched products one stacked update needs
  (forward `h @ W_rec`; backward `u @ W_rec^T`, and `[h_{t-1}, v, x_t]^T @ u` for
  the weight, Omega and input gradients), XLA-compiled the same way (in the
  same groups of runs as `stacked-K`, side by side), with no elementwise work:
  what this machine allows for the same K.

`--processes 2` runs the fit, stacked and bound cases in two processes at once,
one TensorFlow thread each (one process per core), and reports their sums: the
baseline is then two one-thread `fit`s side by side. Run:

    python benchmarks/synthetic_speed.py --json benchmarks/results/synthetic_speed.json
    python benchmarks/synthetic_speed.py --processes 2 \\
        --json benchmarks/results/synthetic_speed_2proc.json
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

import _common


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--lengths", nargs="+", type=int, default=[100, 200])
    parser.add_argument("--runs", nargs="+", type=int, default=[1, 5, 15, 30])
    parser.add_argument("--joint-max", type=int, default=15)
    parser.add_argument("--steps", type=int, default=30, help="updates per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="0: TF's default")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--only", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None)
    return parser.parse_args(argv)


def setup(threads):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    return tf


class Fit:
    def __init__(self, length, tf):
        import keras_rnncr

        self.model = keras_rnncr.tasks.task_model(
            "temporal_order", method="sgd-cr", seed=0, jit_compile=True
        )
        self.data = keras_rnncr.tasks.temporal_order(length, length, 20, seed=0)
        self.models = 1
        self.model.fit(self.data, steps_per_epoch=5, epochs=1, verbose=0)

    def run(self, steps):
        # The steps alone (`seconds`): what a `fit` call costs besides them
        # is left out (whole calls were timed before 2026-12-07, which
        # slowed `fit` by a few percent in this comparison).
        timer = _common.step_timer()
        self.model.fit(
            self.data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer]
        )
        return sum(timer.seconds), sum(timer.cpu_seconds)


class Joint:
    """K task_models stepped in one XLA function (the previous trainer)."""

    def __init__(self, length, k, tf):
        import keras_rnncr

        self.tf, self.length, self.models = tf, length, k
        self.nets = [
            keras_rnncr.tasks.task_model("temporal_order", seed=s) for s in range(k)
        ]
        for net in self.nets:
            net.optimizer.build(net.trainable_variables)

        def update(net, x, y):
            with tf.GradientTape() as tape:
                loss = net.compute_loss(x=x, y=y, y_pred=net(x, training=True))
            net.optimizer.apply(
                tape.gradient(loss, net.trainable_variables), net.trainable_variables
            )

        @tf.function(jit_compile=True)
        def step(xs, ys):
            for net, x, y in zip(self.nets, xs, ys, strict=True):
                update(net, x, y)

        self.step = step
        self.update = 0
        self.run(2)

    def run(self, steps):
        import numpy as np

        import keras_rnncr

        for _ in range(steps):
            pairs = [
                keras_rnncr.tasks.temporal_order_batch(
                    self.length, 20, np.random.default_rng([s, self.update])
                )
                for s in range(self.models)
            ]
            self.step([p[0] for p in pairs], [p[1] for p in pairs])
            self.update += 1


class Stacked:
    def __init__(self, length, k, tf, parts="auto"):
        import keras_rnncr

        runs = [keras_rnncr.tasks.RunSpec("sgd-cr", seed=s) for s in range(k)]
        self.trainer = keras_rnncr.tasks.MultiRunTrainer(
            "temporal_order", runs, min_length=length, parts=parts
        )
        self.groups = self.trainer._groups()
        self.models = k
        self.run(2)

    def run(self, steps):
        self.trainer.train(steps)


class Bound:
    """The bare batched products of one stacked update, compiled with XLA."""

    def __init__(self, length, k, tf, groups=1):
        import numpy as np

        from keras_rnncr.layers._batch_parts import row_slices

        rng = np.random.default_rng(0)
        units, batch, inputs = 50, 20, 6
        w = tf.constant(rng.normal(0, 0.1, (k, units, units)).astype("float32"))
        x = tf.constant(rng.normal(0, 1, (length, k, batch, inputs)).astype("float32"))
        h0 = tf.constant(rng.normal(0, 0.1, (k, batch, units)).astype("float32"))
        rows = 2 * units + inputs

        @tf.function(jit_compile=True)
        def chain(w, x, h0):
            k = w.shape[0]

            def forward(t, h, states):
                h = tf.matmul(h, w)
                return t + 1, h, states.write(t, h)

            states = tf.TensorArray(tf.float32, length)
            _, _, states = tf.while_loop(
                lambda t, *_: t < length, forward, (0, h0, states)
            )
            states = states.stack()

            def backward(t, u, acc):
                v = tf.matmul(u, w, transpose_b=True)
                stacked = tf.concat([states[t], v, x[t]], -1)
                acc = acc + tf.matmul(tf.transpose(stacked, [0, 2, 1]), u)
                return t - 1, v, acc

            acc = tf.zeros((k, rows, units))
            return tf.while_loop(lambda t, *_: t >= 0, backward, (length - 1, h0, acc))[
                2
            ]

        @tf.function
        def grouped():
            # Each group of runs its own compiled computation, side by side.
            return [chain(w[r], x[:, r], h0[r]) for r in row_slices(k, groups)]

        self.chain, self.models = grouped, k
        self.run(1)

    def run(self, steps):
        for _ in range(steps):
            result = self.chain()
        [r.numpy() for r in result]


def measure(cases, args):
    """Median model-updates per wall and CPU second of each case, in rounds."""
    wall = {name: [] for name in cases}
    cpu = {name: [] for name in cases}
    order = random.Random(0)
    for _ in range(args.rounds):
        # A new random order each round, so that no case always follows
        # another (a machine's drift within a round falls on all alike).
        for name in order.sample(list(cases), len(cases)):
            case = cases[name]
            start, cpu_start = time.perf_counter(), time.process_time()
            timed = case.run(args.steps)  # `fit`: its steps' own (wall, CPU)
            seconds, cpu_seconds = timed or (
                time.perf_counter() - start,
                time.process_time() - cpu_start,
            )
            updates = args.steps * case.models
            wall[name].append(updates / seconds)
            cpu[name].append(updates / cpu_seconds)
    return {
        name: {
            "wall": statistics.median(wall[name]),
            "cpu": statistics.median(cpu[name]),
            "wall_rounds": wall[name],
        }
        for name in cases
    }


def single_process(args, kinds=("fit", "joint", "stacked", "bound")):
    tf = setup(args.threads)
    from keras_rnncr.layers._batch_parts import side_by_side

    results = {}
    for length in args.lengths:
        cases = {}
        if "fit" in kinds:
            cases["fit"] = Fit(length, tf)
        for k in args.runs:
            if "joint" in kinds and k <= args.joint_max:
                cases[f"joint-{k}"] = Joint(length, k, tf)
            if "stacked" in kinds:
                cases[f"stacked-{k}"] = Stacked(length, k, tf)
                if cases[f"stacked-{k}"].groups > 1:
                    cases[f"stacked1-{k}"] = Stacked(length, k, tf, parts=1)
            if "bound" in kinds:
                groups = min(side_by_side(), k)  # the trainer's own rule
                cases[f"bound-{k}"] = Bound(length, k, tf, groups)
        results[str(length)] = measure(cases, args)
        print(
            f"T={length}: "
            + json.dumps(
                {n: round(r["wall"], 1) for n, r in results[str(length)].items()}
            ),
            flush=True,
        )
    return results


def main(argv=None):
    args = parse_args(argv)
    if args.only:
        print(json.dumps(single_process(args, kinds=args.only.split(","))))
        return
    start = time.perf_counter()
    if args.processes == 1:
        results = single_process(args)
    else:
        # One thread per process, all at once; the sum is the machine's rate.
        command = [
            sys.executable,
            __file__,
            "--threads",
            "1",
            "--only",
            "fit,stacked,bound",
        ]
        for name in ("lengths", "runs"):
            command += [f"--{name}"] + [str(v) for v in getattr(args, name)]
        command += ["--steps", str(args.steps), "--rounds", str(args.rounds)]
        children = [
            subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            for _ in range(args.processes)
        ]
        outputs = [json.loads(c.communicate()[0].splitlines()[-1]) for c in children]
        results = {
            length: {
                name: {
                    "wall": sum(o[length][name]["wall"] for o in outputs),
                    "cpu": sum(o[length][name]["cpu"] for o in outputs),
                    "per_process_wall": [o[length][name]["wall"] for o in outputs],
                }
                for name in outputs[0][length]
            }
            for length in outputs[0]
        }
    summary = {}
    for length, cases in results.items():
        rows = {}
        for k in args.runs:
            stacked, bound = cases[f"stacked-{k}"]["wall"], cases[f"bound-{k}"]["wall"]
            row = {"stacked": stacked, "bound": bound, "of_bound": stacked / bound}
            if f"stacked1-{k}" in cases:
                row["one_group"] = cases[f"stacked1-{k}"]["wall"]
            if "fit" in cases:
                row["over_fit"] = stacked / cases["fit"]["wall"]
            rows[k] = row
        summary[length] = rows
        for k, row in rows.items():
            print(
                f"T={length} K={k}: stacked {row['stacked']:.0f} model-updates/s, "
                f"{100 * row['of_bound']:.0f}% of the bound ({row['bound']:.0f})"
                + (f", {row['over_fit']:.2f}x fit" if "over_fit" in row else "")
                + (f"; one group {row['one_group']:.0f}" if "one_group" in row else "")
            )
    report = {
        "command": " ".join(sys.argv),
        "machine": {**_common.machine(), **_common.provenance()},
        "wall_seconds": time.perf_counter() - start,
        "results": results,
        "summary": summary,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
