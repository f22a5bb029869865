"""Step time and peak memory of the Omega layers against Keras and a naive version.

Models identical but for the recurrent layer (`--layer`: SimpleRNN, GRU, GRU
with `reset_after=False` (`gru_reset_before`) or LSTM) are trained with plain
SGD on the same batches in the same process:

* `keras`: the Keras layer (`keras.layers.SimpleRNN`, `GRU`, `LSTM`; no Omega),
  the baseline;
* `keras_rnncr`: the `keras_rnncr.layers` layer with `omega=--omega` (default 2)
  as it comes. For SimpleRNN, with the fixed length here, `"auto"` compiles the
  fused loops with XLA, also when the model is not compiled, and takes the
  streaming pass; GRU and LSTM take the fused gated pass (its backward loop
  compiled, its forward loop not). With `--omega 0` it is
  built with omega=0 and trains with the Keras layer's own code;
* `keras_rnncr_metrics`: the same with `omega_metrics=True`, which runs Omega's
  pass (and logs Omega) even at `--omega 0`: what measuring Omega costs;
* SimpleRNN only:
  - `keras_rnncr_one_part`: the default with `omega_batch_parts=1`, its
    compiled loops over the whole batch (the default splits the batch into one
    part per thread TensorFlow may use, see `keras_rnncr.layers.SimpleRNN`);
  - `keras_rnncr_no_jit`: the streaming pass with `omega_jit_compile=False`;
  - `keras_rnncr_stored`: `omega_backward="stored"`, loops compiled;
  - `keras_rnncr_stored_no_jit`: the stored pass uncompiled (what `"auto"`
    takes when the length is not fixed);
  - `two_tape`: a naive SGD-CR written as in the paper notes' recipe: a probe
    added to every state gives dE/dh_k through a first tape, and a second tape
    differentiates Omega with respect to the recurrent kernel (last-step loss
    only).

The loss is on the last step (a classifier on the last state), or on every step
with `--per-step-loss` (a classifier on every state, as for music and text).

Step time: in each round every model runs `--steps` training steps of `fit`, in
a random order; the round's ratio is a model's mean step time over Keras's. The
script prints the median ratio over rounds with a 95% percentile-bootstrap
interval, so that drift and noise on a shared machine hit all models alike, and
the ratio of each model's fastest round to Keras's fastest ("best"): on a
machine whose step times jump between levels from one round to the next (the
2-core container of benchmarks/RESULTS.md), the steadier of the two.
Peak memory, two ways, each model measured alone in `--memory-runs` fresh
processes (models taking turns), reported as the median over them:

* the allocator's peak on the device during a training step
  (`tf.config.experimental.get_memory_info`; on a CPU this needs the BFC
  allocator, which the script selects), the largest over 3 steps after the
  tracing step. It counts whole the chunk a request was served from, which
  can be up to twice the request when an earlier step freed such a chunk, so
  it moves by a few MiB from process to process, for Keras too;
* the requested peak: the largest sum of bytes the step's tensors asked the
  allocator for and had not freed, from the allocator's own log of requests
  (`TF_CPP_VMODULE=bfc_allocator=3`). It is what the computation holds, free
  of the allocator's rounding, and repeats to within a fraction of a percent.

`--memory-runs 0` leaves memory out. Inference is compared output for output.
Run:

    python benchmarks/omega_speed.py --lengths 100 500 --threads 1 --clock process
    python benchmarks/omega_speed.py --layer gru --omega 0 --threads 0 --clock wall

On a shared machine, `--threads 1 --clock process` times the CPU work of this
process alone; the default wall clock with TensorFlow's thread pools is what a
user gets, and suits a quiet machine or a GPU.
"""

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import os
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_rnncr  # noqa: E402

# The Keras layer and the keras_rnncr layer of each `--layer`.
LAYERS = {
    "simple_rnn": (keras.layers.SimpleRNN, keras_rnncr.layers.SimpleRNN),
    "gru": (keras.layers.GRU, keras_rnncr.layers.GRU),
    "gru_reset_before": (
        functools.partial(keras.layers.GRU, reset_after=False),
        functools.partial(keras_rnncr.layers.GRU, reset_after=False),
    ),
    "lstm": (keras.layers.LSTM, keras_rnncr.layers.LSTM),
}

# Arguments of the keras_rnncr layer for each version measured.
VERSIONS = {
    "keras_rnncr": {},
    "keras_rnncr_metrics": {"omega_metrics": True},
    "keras_rnncr_one_part": {"omega_batch_parts": 1},
    "keras_rnncr_no_jit": {"omega_backward": "streaming", "omega_jit_compile": False},
    "keras_rnncr_stored": {"omega_backward": "stored"},
    "keras_rnncr_stored_no_jit": {
        "omega_backward": "stored",
        "omega_jit_compile": False,
    },
}

# Versions that exist for SimpleRNN only (its fused pass, the naive SGD-CR).
SIMPLE_RNN_ONLY = (
    "keras_rnncr_one_part",
    "keras_rnncr_no_jit",
    "keras_rnncr_stored",
    "keras_rnncr_stored_no_jit",
    "two_tape",
)

# "process" counts the CPU time of this process only, which other jobs on a
# shared machine disturb far less than wall time (use it with --threads 1).
CLOCKS = {"wall": time.perf_counter, "process": time.process_time}


class ProbedCell(keras.layers.SimpleRNNCell):
    """SimpleRNN cell whose input carries a zero probe added to the new state."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.state_size = units

    def build(self, input_shape):
        super().build((input_shape[0], input_shape[-1] - self.units))

    def call(self, inputs, states, training=False):
        x, probe = inputs[:, : -self.units], inputs[:, -self.units :]
        h, _ = super().call(x, states, training=training)
        h = h + probe
        return h, [h]


class TwoTapeModel(keras.Model):
    """SGD-CR with an explicit probe tape and a second tape for Omega."""

    def __init__(self, units, classes, alpha):
        super().__init__()
        self.units = units
        self.alpha = alpha
        self.rnn = keras.layers.RNN(ProbedCell(units), return_sequences=True)
        self.head = keras.layers.Dense(classes)

    def call(self, x, training=False):
        probe = tf.zeros(tf.concat([tf.shape(x)[:2], [self.units]], 0), x.dtype)
        return self.head(self.rnn(tf.concat([x, probe], -1))[:, -1])

    def train_step(self, data):
        x, y = data
        probe = tf.zeros(tf.concat([tf.shape(x)[:2], [self.units]], 0), x.dtype)
        with tf.GradientTape() as tape:
            tape.watch(probe)
            hidden = self.rnn(tf.concat([x, probe], -1), training=True)
            loss = self.compute_loss(x, y, self.head(hidden[:, -1]))
        variables = self.trainable_variables
        *grads, delta = tape.gradient(loss, variables + [probe])
        cell = self.rnn.cell
        hidden, delta = tf.stop_gradient(hidden), tf.stop_gradient(delta)
        with tf.GradientTape() as second:
            kernel = tf.convert_to_tensor(cell.recurrent_kernel)
            second.watch(kernel)
            moved = tf.matmul(delta * (1 - hidden**2), kernel, transpose_b=True)
            num = tf.reduce_sum(moved**2, -1)
            den = tf.reduce_sum(delta**2, -1)
            valid = den >= 1e-20
            ratio = num / tf.where(valid, den, 1.0)
            terms = tf.where(valid, (ratio - 1.0) ** 2, 0.0)
            omega = tf.reduce_sum(terms) / tf.maximum(
                tf.reduce_sum(tf.cast(valid, tf.float32)), 1.0
            )
        omega_grad = second.gradient(omega, kernel)
        index = [v.path for v in variables].index(cell.recurrent_kernel.path)
        grads[index] = grads[index] + self.alpha * omega_grad
        self.optimizer.apply(grads, variables)
        return {"loss": loss}


def build(kind, args, steps, jit_compile):
    inputs = keras.Input((steps, args.features))
    per_step = args.per_step_loss
    if kind == "two_tape":
        model = TwoTapeModel(args.units, args.classes, args.omega)
        model(np.zeros((1, steps, args.features), "float32"))
    else:
        theirs, ours = LAYERS[args.layer]
        layer = (
            theirs(args.units, return_sequences=per_step)
            if kind == "keras"
            else ours(
                args.units,
                omega=args.omega,
                return_sequences=per_step,
                **VERSIONS[kind],
            )
        )
        model = keras.Model(inputs, keras.layers.Dense(args.classes)(layer(inputs)))
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return model


# Child processes log the allocator's requests (TensorFlow's VLOG of the BFC
# allocator) between these markers, so that the bytes asked for can be summed.
STEP_START, STEP_END = "==STEP START==", "==STEP END=="
# The memory children's environment. The CPU allocator records peaks only in
# its BFC form (the same allocator for every model); the timing process keeps
# TensorFlow's default allocator, what a user gets (before 2026-12-07 it ran
# with BFC too).
ALLOCATOR_LOG = {
    "TF_CPP_VMODULE": "bfc_allocator=3",
    "TF_CPP_MIN_LOG_LEVEL": "0",
    "TF_CPU_ALLOCATOR_USE_BFC": "true",
}


def peak_memory(model, x, y, device, repeats=3):
    """Largest allocator peak above the resting level over `repeats` steps.

    The steps take their batch from a dataset made beforehand, as in the timing
    (with arrays, `fit` would copy them into a new dataset inside the measured
    step, which sometimes outlives the step's peak and sometimes not). The
    first, tracing step is left out. Markers around each step on stderr
    delimit the allocator's log for `requested_peak`.
    """
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(data, steps_per_epoch=1, epochs=1, verbose=0)
    peaks = []
    for _ in range(repeats):
        tf.config.experimental.reset_memory_stats(device)
        base = tf.config.experimental.get_memory_info(device)["current"]
        os.write(2, f"\n{STEP_START}\n".encode())
        model.fit(data, steps_per_epoch=1, epochs=1, verbose=0)
        os.write(2, f"\n{STEP_END}\n".encode())
        peaks.append(tf.config.experimental.get_memory_info(device)["peak"] - base)
    return max(peaks)


def data_for(length, args):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, length, args.features)).astype("float32")
    labels = (args.batch, length) if args.per_step_loss else (args.batch,)
    return x, rng.integers(0, args.classes, size=labels)


def requested_peak(log):
    """Largest sum of bytes requested and not yet freed during a marked step.

    The log gives sizes, not addresses, so a free is counted against the
    step's running sum whatever allocated it: buffers allocated before the
    step and freed during it lower the sum (the figure is then below the
    step's own requests), by as much as such frees add up to.

    Unlike the allocator's peak, this leaves out what the allocator adds to a
    request: a free chunk under twice the request is handed out whole, so the
    allocator's peak also depends on which chunks earlier steps freed. Read from
    the allocator's VLOG lines `AllocateRaw <allocator> <bytes>` and
    `DeallocateRaw <allocator> <bytes>` (a GPU's own allocator is `GPU_0_bfc`;
    on a CPU the BFC allocator's name has "cpu" in it). None if the log has no
    such lines (another TensorFlow version may word them otherwise).
    """
    allocation = re.compile(r"\] (Allocate|Deallocate)Raw (\S+)\s+(\d+)\s*$")
    best = None
    for step in log.split(STEP_START)[1:]:
        in_use, peak = {}, {}
        for line in step.split(STEP_END)[0].splitlines():
            match = allocation.search(line)
            if match:
                kind, name, size = match.groups()
                in_use[name] = in_use.get(name, 0) + int(size) * (
                    1 if kind == "Allocate" else -1
                )
                peak[name] = max(peak.get(name, 0), in_use[name])
        # The device's allocator: a GPU's when there is one (its host pools
        # have "cpu" in their names too), else the CPU's.
        device = [n for n in peak if n.startswith("GPU_0")] or [
            n for n in peak if "cpu" in n
        ]
        if device:
            top = max(peak[n] for n in device)
            best = top if best is None else max(best, top)
    return best


def memory_in_own_process(kind, length):
    """`(allocator peak, requested peak)` of one model, in a fresh process.

    The allocator's peak depends on what was allocated and freed before (a freed
    chunk can be reused for a smaller tensor and is counted whole), so each
    model is measured alone, in a process of its own.
    """
    # The parent's arguments, then the overrides (argparse keeps the last).
    command = [sys.executable, __file__, *sys.argv[1:]]
    command += ["--memory-of", kind, "--lengths", str(length)]
    result = subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **ALLOCATOR_LOG},
    )
    peak = json.loads(result.stdout.strip().splitlines()[-1])["peak_memory_bytes"]
    return peak, requested_peak(result.stderr)


def memory_of(kinds, length, runs):
    """Median allocator and requested peaks of each model over `runs` processes.

    The models take turns, run by run, so that slow drift on the machine hits
    them alike.
    """
    measured = {k: [] for k in kinds}
    for _ in range(runs):
        for kind in kinds:
            measured[kind].append(memory_in_own_process(kind, length))
    result = {}
    for index, measure in enumerate(["peak_memory", "requested_memory"]):
        runs_of = {k: [v[index] for v in values] for k, values in measured.items()}
        medians = {}
        for kind, values in runs_of.items():
            known = [v for v in values if v is not None]
            medians[kind] = statistics.median(known) if known else None
        baseline = medians["keras"]
        result[f"{measure}_runs"] = runs_of
        result[f"{measure}_bytes"] = medians
        result[f"{measure}_ratio_vs_keras"] = {
            k: None if v is None or not baseline else v / baseline
            for k, v in medians.items()
        }
    return result


def run(length, args, device):
    x, y = data_for(length, args)
    data = tf.data.Dataset.from_tensors((x, y)).repeat().prefetch(tf.data.AUTOTUNE)
    kinds = ["keras", *args.versions]
    memory = memory_of(kinds, length, args.memory_runs) if args.memory_runs else {}
    if not args.rounds:  # memory only
        return {"length": length, **memory}
    keras.utils.set_random_seed(0)
    models = {k: build(k, args, length, args.jit_compile) for k in kinds}
    reference = models["keras"].get_weights()
    for kind in kinds[1:]:
        models[kind].set_weights(reference)
    for model in models.values():  # warm-up beyond the first trace
        model.fit(data, steps_per_epoch=args.steps, epochs=1, verbose=0)
    clock = CLOCKS[args.clock]
    order = random.Random(0)
    times = {k: [] for k in kinds}
    cpu_times = {k: [] for k in kinds}  # the process's CPU clock, beside `clock`
    for _ in range(args.rounds):
        for kind in order.sample(kinds, len(kinds)):
            # The steps alone: what each `fit` call costs besides them (an
            # epoch iterator, callbacks) is left out (code before 2026-12-07
            # timed whole calls of `--steps` steps, which pulled every ratio
            # toward 1).
            timer = _common.step_timer(clock)
            models[kind].fit(
                data, steps_per_epoch=args.steps, epochs=1, verbose=0, callbacks=[timer]
            )
            times[kind].append(float(np.mean(timer.seconds)))
            cpu_times[kind].append(float(np.mean(timer.cpu_seconds)))
    ratios = {k: [t / b for t, b in zip(times[k], times["keras"])] for k in kinds}
    cpu_ratios = {
        k: [t / b for t, b in zip(cpu_times[k], cpu_times["keras"])] for k in kinds
    }
    fresh = {k: build(k, args, length, False) for k in ["keras", "keras_rnncr"]}
    fresh["keras_rnncr"].set_weights(fresh["keras"].get_weights())
    outputs = [m.predict(x, verbose=0, batch_size=args.batch) for m in fresh.values()]
    return {
        "length": length,
        "step_seconds": {k: statistics.median(v) for k, v in times.items()},
        "step_ratio_vs_keras": {k: statistics.median(v) for k, v in ratios.items()},
        "step_ratio_95_interval": {
            k: _common.median_interval(v) for k, v in ratios.items()
        },
        "best_step_ratio_vs_keras": {
            k: min(v) / min(times["keras"]) for k, v in times.items()
        },
        # The process's CPU time per step, whatever `--clock` (beside it).
        "step_cpu_seconds": {k: statistics.median(v) for k, v in cpu_times.items()},
        "step_cpu_ratio_vs_keras": {
            k: statistics.median(v) for k, v in cpu_ratios.items()
        },
        **memory,
        "inference_max_abs_difference": float(np.abs(outputs[0] - outputs[1]).max()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", choices=sorted(LAYERS), default="simple_rnn")
    parser.add_argument(
        "--omega",
        type=float,
        default=2.0,
        help="alpha of the keras_rnncr layers (0: built with omega=0)",
    )
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5, help="steps per timing")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--memory-runs",
        type=int,
        default=5,
        help="fresh processes per model for memory (medians reported; 0: none)",
    )
    parser.add_argument(
        "--per-step-loss",
        action="store_true",
        help="classify every state (return_sequences) instead of the last",
    )
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=0, help="TF intra/inter-op threads (0: TF's)"
    )
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--note", help="free text kept in the JSON (e.g. what else ran meanwhile)"
    )
    parser.add_argument(
        "--versions",
        nargs="+",
        choices=[*VERSIONS, "two_tape"],
        help="versions measured against Keras (default: keras_rnncr, with "
        "keras_rnncr_metrics at --omega 0; for simple_rnn at --omega > 0, all but "
        "keras_rnncr_metrics; two_tape only with a last-step loss)",
    )
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)  # internal
    args = parser.parse_args()
    if args.versions is None:
        if args.omega == 0:
            args.versions = ["keras_rnncr", "keras_rnncr_metrics"]
        elif args.layer == "simple_rnn":
            args.versions = [v for v in VERSIONS if v != "keras_rnncr_metrics"]
            args.versions += [] if args.per_step_loss else ["two_tape"]
        else:
            args.versions = ["keras_rnncr"]
    if args.per_step_loss and "two_tape" in args.versions:
        parser.error("--versions: two_tape has a last-step loss only")
    if args.layer != "simple_rnn" and set(args.versions) & set(SIMPLE_RNN_ONLY):
        parser.error(f"--versions: {', '.join(SIMPLE_RNN_ONLY)} are for simple_rnn")
    if args.omega < 0:
        parser.error(f"--omega must be >= 0. Received: {args.omega}")
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    gpus = tf.config.list_logical_devices("GPU")
    device = "GPU:0" if gpus else "CPU:0"
    if args.memory_of:  # a child process of `memory_in_own_process`
        length = args.lengths[0]
        keras.utils.set_random_seed(0)
        model = build(args.memory_of, args, length, args.jit_compile)
        peak = peak_memory(model, *data_for(length, args), device)
        print(json.dumps({"peak_memory_bytes": peak}))
        return
    header = {
        **_common.machine(),
        **_common.provenance(),
        "device": device,
        "clock": args.clock,
        "cpu_allocator_bfc": os.environ.get("TF_CPU_ALLOCATOR_USE_BFC"),
        "args": vars(args),
    }
    print(json.dumps(header))
    results = []
    for length in args.lengths:
        result = run(length, args, device)
        results.append(result)
        print(f"T={length}:", flush=True)
        for kind in ["keras", *args.versions]:
            line = f"  {kind:20s} "
            if "step_seconds" in result:
                low, high = result["step_ratio_95_interval"][kind]
                line += (
                    f"{1e3 * result['step_seconds'][kind]:8.2f} ms/step "
                    f"[{args.clock}; CPU "
                    f"{result['step_cpu_ratio_vs_keras'][kind]:.3f}x] "
                    f"({result['step_ratio_vs_keras'][kind]:.3f}x, 95% "
                    f"{low:.3f}-{high:.3f}; best "
                    f"{result['best_step_ratio_vs_keras'][kind]:.3f}x), "
                )
            if "peak_memory_bytes" not in result:
                print(line.rstrip(", "), flush=True)
                continue
            line += (
                f"peak {result['peak_memory_bytes'][kind] / 2**20:6.2f} MiB "
                f"({result['peak_memory_ratio_vs_keras'][kind]:.3f}x)"
            )
            requested = result["requested_memory_bytes"][kind]
            if requested is not None:
                ratio = result["requested_memory_ratio_vs_keras"][kind]
                line += f", requested {requested / 2**20:6.2f} MiB ({ratio:.3f}x)"
            print(line, flush=True)
        if "step_seconds" not in result:
            continue
        print(
            f"  inference max |diff| {result['inference_max_abs_difference']:.1e}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**header, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
