"""Many independent runs of one synthetic task, advanced together in one step."""

import dataclasses
import json
import pathlib
import random
from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf

from keras_rnncr.initializers.paper_schemes import MAX_SEED
from keras_rnncr.layers import _omega_math
from keras_rnncr.layers._batch_parts import check_parts, row_slices, side_by_side
from keras_rnncr.methods import METHODS
from keras_rnncr.optimizers import _math as clip_math
from keras_rnncr.tasks import _validation
from keras_rnncr.tasks.evaluation import evaluate_predictions
from keras_rnncr.tasks.models import task_model
from keras_rnncr.tasks.registry import get_task
from keras_rnncr.tasks.sampling import sample_length

# Seed of the per-update length draws shared by all runs of a trainer.
LENGTH_SEED = 7919

# `ClippedOptimizer`'s default: larger gradient norms count as non-finite.
_MAX_FINITE_NORM = 1e10

_ACTIVATIONS = {"tanh": tf.tanh, "sigmoid": tf.sigmoid}


def _tanh_slope(h):
    return 1.0 - tf.square(h)


def _sigmoid_slope(h):
    return h * (1.0 - h)


# f'(a) of each activation, from its output h = f(a).
_SLOPES = {"tanh": _tanh_slope, "sigmoid": _sigmoid_slope}


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One training run: a method, its hyper-parameters and its seeds.

    Args:
        method: `"sgd"`, `"sgd-c"` (clipping) or `"sgd-cr"` (clipping + Omega).
        seed: int in [0, 715827881] (`paper_initializers`' limit), seed of
            the initial weights (as `task_model(seed=...)`).
        data_seed: int or None, seed of the training batches; defaults to
            `seed`. Runs with the same `data_seed` see the very same batches.
        scheme: initialisation scheme of `keras_rnncr.initializers`.
        learning_rate: positive float, SGD's learning rate.
        threshold: positive float, the clipping threshold (not used by sgd).
        omega: non-negative float, Omega's weight alpha (used by sgd-cr only).
    """

    method: str = "sgd-cr"
    seed: int = 0
    data_seed: int | None = None
    scheme: str = "basic_tanh"
    learning_rate: float = 0.01
    threshold: float = 1.0
    omega: float = 4.0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(
                f"Argument `method` must be one of {METHODS}. "
                f"Received: method={self.method!r}"
            )
        # NumPy scalars are taken as Python numbers (checkpoints are JSON).
        seed = _validation.check_seed(self.seed, allow_none=False)
        if seed > MAX_SEED:
            raise ValueError(
                f"Argument `seed` must be an integer in [0, {MAX_SEED}] (the "
                "initial weights' seed, as `paper_initializers` takes it). "
                f"Received: seed={seed!r}"
            )
        self._set("seed", seed)
        self._set("data_seed", _validation.check_seed(self.data_seed, "data_seed"))
        for name in ("learning_rate", "threshold"):
            value = getattr(self, name)
            if not _is_real(value) or not 0.0 < value < float("inf"):
                raise ValueError(
                    f"Argument `{name}` must be a positive finite float. "
                    f"Received: {name}={value!r}"
                )
            self._set(name, float(value))
        if not _is_real(self.omega) or not 0.0 <= self.omega < float("inf"):
            raise ValueError(
                "Argument `omega` must be a non-negative finite float. "
                f"Received: omega={self.omega!r}"
            )
        self._set("omega", float(self.omega))

    def _set(self, name, value):
        object.__setattr__(self, name, value)

    @property
    def batches_seed(self):
        """The seed of the run's training batches."""
        return self.seed if self.data_seed is None else self.data_seed


def _is_real(value):
    return isinstance(value, int | float | np.integer | np.floating) and not (
        isinstance(value, bool | np.bool_)
    )


def _recurrence(inputs, length, kernel, recurrent_kernel, bias, activation):
    """States `(time, runs, batch, units)` of K stacked SimpleRNNs.

    `h_t = act(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)`, as
    `keras.layers.SimpleRNNCell` computes it, from `h_0 = 0`, for the first
    `length` steps of `inputs` (padded beyond); later states are zero.
    """
    inputs_part = tf.einsum("kbti,kin->tkbn", inputs, kernel) + bias[:, None, :]
    act = _ACTIVATIONS[activation]

    def step(t, state, states):
        state = act(inputs_part[t] + tf.matmul(state, recurrent_kernel))
        return t + 1, state, tf.tensor_scatter_nd_update(states, [[t]], [state])

    zeros = tf.zeros_like(inputs_part)
    _, _, states = tf.while_loop(lambda t, *_: t < length, step, (0, zeros[0], zeros))
    return states


def _back_propagate(
    immediate, states, length, inputs, recurrent_kernel, activation, ratio
):
    """Back-propagation through time of the stacked runs, with Omega's sums.

    With `g_t = dE/dh_t` through the outputs alone (`immediate`), the total
    derivative is `delta_t = g_t + v_{t+1}`, where `u_t = delta_t * f'(a_t)`
    and `v_t = u_t @ W_rec^T` is the error transported one step back: the
    very vector that Omega compares with `delta_t`. Each step adds its part
    of the gradients, and Omega's per-pair terms (`_omega_math`), so that no
    sequence-sized buffer of errors is kept.

    Returns:
        A dict of per-run sums: `kernel`, `recurrent_kernel`, `bias`
        (gradients of the loss), `omega_rows` (`sum 2 * slope * v^T u`, the
        gradient of the summed Omega in W_rec), `omega` (sum of Omega's
        terms) and `valid` (valid pairs).
    """
    slope_of = _SLOPES[activation]
    zeros = tf.zeros_like(states[0])
    dtype = states.dtype

    def body(t, transported, d_rows, d_bias, omega, valid):
        delta = immediate[t] + transported
        u = delta * slope_of(states[t])
        v = tf.matmul(u, recurrent_kernel, transpose_b=True)
        previous = states[tf.maximum(t - 1, 0)] * tf.cast(t > 0, dtype)
        transported_sq = tf.reduce_sum(tf.square(v), -1)
        delta_sq = tf.reduce_sum(tf.square(delta), -1)
        is_valid = _omega_math.valid_pairs(delta_sq)
        terms, slope = _omega_math.omega_pair_terms(
            transported_sq, delta_sq, is_valid, ratio
        )
        # One product for the three gradients that are sums of outer products
        # with u: [h_{t-1}, 2 * slope * v, x_t]^T @ u (rows transposed first,
        # which XLA's CPU dot runs faster than a transposed operand).
        rows = tf.concat([previous, 2.0 * slope[..., None] * v, inputs[t]], -1)
        return (
            t - 1,
            v,
            d_rows + tf.matmul(tf.transpose(rows, [0, 2, 1]), u),
            d_bias + tf.reduce_sum(u, 1),
            omega + tf.reduce_sum(terms, 1),
            valid + tf.reduce_sum(tf.cast(is_valid, dtype), 1),
        )

    units = recurrent_kernel.shape[-1]
    per_run = tf.zeros(tf.shape(states)[1:2], dtype)
    initial = (
        length - 1,
        zeros,
        tf.zeros(
            (recurrent_kernel.shape[0], 2 * units + inputs.shape[-1], units), dtype
        ),
        tf.zeros_like(zeros[:, 0]),
        per_run,
        per_run,
    )
    _, _, d_rows, d_bias, omega, valid = tf.while_loop(
        lambda t, *_: t >= 0, body, initial
    )
    return {
        "recurrent_kernel": d_rows[:, :units],
        "omega_rows": d_rows[:, units : 2 * units],
        "kernel": d_rows[:, 2 * units :],
        "bias": d_bias,
        "omega": omega,
        "valid": valid,
    }


def _head(states, length, head_kernel, head_bias, output_head):
    """Predictions `(runs, batch[, time], outputs)` of the task's output layer.

    A per-step head gives every (padded) step of `states`; the others read
    the state at step `length`.
    """
    if output_head == "softmax":
        logits = tf.einsum("tkbn,kno->kbto", states, head_kernel)
        logits += head_bias[:, None, None, :]
    else:
        # A gather, not `states[length - 1]`: XLA takes a slice's bounds as
        # compile-time constants, so every length compiled its own step.
        last = tf.gather(states, length - 1)
        logits = tf.einsum("kbn,kno->kbo", last, head_kernel)
        logits += head_bias[:, None, :]
    if output_head == "last_linear":
        return logits
    return tf.nn.softmax(logits)


def _losses(predictions, targets, length, output_head):
    """Each run's loss, as `compile`'s loss with `sum_over_batch_size`.

    Per-step targets are padded beyond `length`; those steps do not count.
    """
    if output_head == "last_linear":
        per_example = keras.losses.mean_squared_error(targets, predictions)
    else:
        per_example = keras.losses.sparse_categorical_crossentropy(targets, predictions)
    if output_head != "softmax":
        return tf.reduce_mean(per_example, 1)
    steps = tf.range(tf.shape(per_example)[-1])
    mask = tf.cast(steps < length, per_example.dtype)
    count = tf.cast(tf.shape(per_example)[1] * length, per_example.dtype)
    return tf.reduce_sum(per_example * mask, (1, 2)) / count


def _predict(params, inputs, length, activation, output_head):
    """Predictions of the stacked runs for inputs `(batch, time, features)`."""
    kernel, recurrent_kernel, bias, head_kernel, head_bias = params
    stacked = tf.broadcast_to(
        inputs, tf.concat([tf.shape(kernel)[:1], tf.shape(inputs)], 0)
    )
    states = _recurrence(stacked, length, kernel, recurrent_kernel, bias, activation)
    return _head(states, length, head_kernel, head_bias, output_head)


def _update(params, inputs, targets, length, hyper, activation, output_head, ratio):
    """One SGD(-C)(-R) update of every stacked run; returns params and stats.

    Per run, as one `fit` step of `task_model` with `ClippedOptimizer`: the
    loss's gradient plus `alpha * dOmega/dW_rec`, the global norm over the
    run's own parameters (`optimizers._math.global_norm`), clipping at its
    threshold (`clip_by_global_norm`; inf for sgd), and the update skipped
    when the norm is non-finite (`is_nonfinite`, `ClippedOptimizer`'s
    `nonfinite="skip"`) or the step would write a non-finite weight.
    """
    learning_rate, threshold, alpha, max_finite, training = hyper
    kernel, recurrent_kernel, bias, head_kernel, head_bias = params
    states = _recurrence(inputs, length, kernel, recurrent_kernel, bias, activation)
    with tf.GradientTape() as tape:
        tape.watch([states, head_kernel, head_bias])
        predictions = _head(states, length, head_kernel, head_bias, output_head)
        losses = _losses(predictions, targets, length, output_head)
        total = tf.reduce_sum(losses)
    immediate, d_head_kernel, d_head_bias = tape.gradient(
        total, [states, head_kernel, head_bias]
    )
    immediate = tf.convert_to_tensor(immediate)  # the gather's are sparse
    time_major = tf.transpose(inputs, [2, 0, 1, 3])
    sums = _back_propagate(
        immediate, states, length, time_major, recurrent_kernel, activation, ratio
    )
    # Omega is the mean over valid pairs (`omega_coefficient` in the layers);
    # a run whose Omega gradient is not finite gets none (`keep_if_finite`).
    coefficient = alpha / tf.maximum(sums["valid"], 1.0)
    d_omega = coefficient[:, None, None] * sums["omega_rows"]
    usable = tf.logical_and(
        alpha > 0.0, tf.reduce_all(tf.math.is_finite(d_omega), (1, 2))
    )
    d_omega = tf.where(usable[:, None, None], d_omega, tf.zeros_like(d_omega))
    omega = tf.math.divide_no_nan(sums["omega"], sums["valid"])
    valid = sums["valid"] / tf.cast(length * tf.shape(states)[2], omega.dtype)
    grads = [
        sums["kernel"],
        sums["recurrent_kernel"] + d_omega,
        sums["bias"],
        d_head_kernel,
        d_head_bias,
    ]
    norms = tf.vectorized_map(clip_math.global_norm, grads)
    nonfinite = clip_math.is_nonfinite(norms, max_finite)
    clipped_grads, clipped = tf.vectorized_map(
        lambda args: clip_math.clip_by_global_norm(*args), (grads, norms, threshold)
    )
    steps = []
    for param, grad in zip(params, clipped_grads, strict=True):
        shape = (-1,) + (1,) * (len(param.shape) - 1)
        steps.append(param - grad * tf.reshape(learning_rate, shape))
    # A finite gradient can still give a non-finite step (an overflowing
    # `learning_rate * grad`, for sgd's unclipped gradient above all): such
    # an update is skipped too, and counted as non-finite.
    finite_steps = tf.reduce_all(
        tf.stack(
            [
                tf.reduce_all(tf.math.is_finite(step), list(range(1, len(step.shape))))
                for step in steps
            ]
        ),
        axis=0,
    )
    nonfinite = tf.logical_or(nonfinite, tf.logical_not(finite_steps))
    keep = tf.logical_or(nonfinite, training <= 0.0)
    new_params = []
    for param, step in zip(params, steps, strict=True):
        shape = (-1,) + (1,) * (len(param.shape) - 1)
        new_params.append(tf.where(tf.reshape(keep, shape), param, step))
    stats = tf.stack(
        [
            losses,
            tf.cast(norms, losses.dtype),
            tf.cast(clipped, losses.dtype),
            tf.cast(nonfinite, losses.dtype),
            omega,
            valid,
        ],
        axis=1,
    )
    return new_params, stats


def _update_fn(activation, output_head, ratio, jit_compile, parts):
    """The compiled `_update` `(params, inputs, targets, length, hyper) ->
    (params, stats)` of the stacked runs, taken in `parts` groups of runs.

    One group: one computation. More: each group of consecutive runs
    (`row_slices` of the run axis) is updated by its own compiled
    computation, which TensorFlow's executor runs side by side (XLA's CPU
    code runs a compiled loop on one thread); the runs are independent, so
    each run's update is the same, to float rounding, in any group.
    """

    def update(params, inputs, targets, length, hyper):
        return _update(
            params, inputs, targets, length, hyper, activation, output_head, ratio
        )

    compiled = tf.function(update, jit_compile=jit_compile)
    if parts == 1:
        return compiled

    def grouped_update(params, inputs, targets, length, hyper):
        groups = [
            compiled(
                [p[runs] for p in params],
                inputs[runs],
                targets[runs],
                length,
                tuple(h[runs] for h in hyper),
            )
            for runs in row_slices(inputs.shape[0], parts)
        ]
        new_params = [
            tf.concat([new[i] for new, _ in groups], 0) for i in range(len(params))
        ]
        return new_params, tf.concat([stats for _, stats in groups], 0)

    return tf.function(grouped_update)


# Steps are padded up to a multiple of this, so that one compiled step (and
# one XLA compilation) serves up to this many lengths; the loops run the true
# number of steps, only the input projection sees the padding.
BUCKET_STEPS = 32


def _pad_steps(array, axis):
    """Pads `axis` with zeros to a multiple of `BUCKET_STEPS`."""
    steps = array.shape[axis]
    padding = [(0, 0)] * array.ndim
    padding[axis] = (0, -steps % BUCKET_STEPS)
    return np.pad(array, padding)


STAT_NAMES = ("loss", "grad_norm", "clipped", "nonfinite", "omega", "omega_valid")


class MultiRunTrainer:
    """Trains K independent runs of one synthetic task in one compiled step.

    Reproducing Figure 7 of Pascanu, Mikolov & Bengio (ICML 2013) takes
    10^5-10^6 updates per run of a 50-unit RNN, whose small products leave a
    CPU mostly idle when one model trains at a time. This trainer stacks the
    weights of K runs of `keras_rnncr.tasks.task_model` on a leading run axis
    and updates them all with batched products in one XLA-compiled step.
    Each run keeps its own initial weights, data, method, learning rate,
    threshold and alpha, and its own global-norm clipping (over its own
    parameters), so that a run's update does not depend on which other runs
    share its step, and equals one `model.fit` step of the run's
    `task_model` on the same batch, both to float rounding: XLA's batched
    products of K runs may round differently from those of fewer, and
    training amplifies such last-bit differences over thousands of updates
    as it does any other (a run trained alone and beside two others, 8
    units, differed by 5e-7 after 500 updates and 1.5e-2 after 1,000). A
    run's trajectory is reproduced bit for bit with the same runs in its
    step, which `save`/`restore` keep.

    The maths is the library's: Omega's pair terms and validity
    (`keras_rnncr.layers`), the global norm, clipping and non-finite test of
    `ClippedOptimizer`. The total derivatives `dE/dh_k` come from the
    gradient of a zero probe added to each state.

    All runs of a trainer share the task, the length range, the batch size
    and the activation of their schemes (one trainer per activation). Every
    update draws one length for all runs (`sample_length` with
    `numpy.random.default_rng([length_seed, update])`) and each run's batch
    from `default_rng([data_seed, update])`, so a checkpointed trainer
    resumes bit for bit.

    Note: every method, plain SGD (`"sgd"`) too, skips an update whose
    gradient norm is not finite or whose step would write a non-finite
    weight (say an overflowing `learning_rate * gradient`); such updates are
    counted in the `nonfinite` statistic. Keras's SGD, which `task_model`
    gives `"sgd"`, would write them into the weights.

    Args:
        task: str, one of `keras_rnncr.tasks.TASKS`.
        runs: list of `RunSpec`.
        min_length: int, shortest training length.
        max_length: int or None, exclusive upper bound of the length (None:
            `min_length` only), as `sample_length`.
        units: int, hidden units. Defaults to 50.
        batch_size: int. Defaults to 20.
        jit_compile: bool, compile the step with XLA. Defaults to True.
        parts: `"auto"` or int >= 1, into how many groups of runs an update
            is split, each group its own compiled computation, run side by
            side by TensorFlow's executor. XLA's CPU code runs a compiled
            loop on one thread, so one group leaves the other cores idle.
            `"auto"` (the default): one group per loop that may run side by
            side (the fewer of TensorFlow's intra- and inter-op threads, by
            default the cores; 1 when either is set to 1, with a GPU, or
            without `jit_compile`), at most one per run in the compiled
            step (stopped runs stay in it, see `deactivate`). Runs
            are independent: a run's update in any group equals its update
            in one to float rounding (XLA's batched products of K runs may
            round differently from those of fewer), so a run resumes bit for
            bit only when it is split alike: give an int where `"auto"` may
            resolve differently (another machine, other threads).
        length_seed: int, seed of the length draws; no run's batches may
            have it as their seed (their streams would coincide).
        task_options: dict of options of the task's generator (memorization).

    Example:

    ```python
    runs = [RunSpec(method, seed=s) for s in range(3) for method in METHODS]
    trainer = MultiRunTrainer("temporal_order", runs, min_length=50,
                              max_length=55)
    stats = trainer.train(1000)       # per run: mean loss, grad norm, ...
    results = trainer.evaluate(1000, seed=0)
    trainer.save("runs/sweep/checkpoint")
    trainer = MultiRunTrainer.restore("runs/sweep/checkpoint")
    model = trainer.to_model(0)       # the run's task_model, trained
    ```
    """

    def __init__(
        self,
        task,
        runs,
        min_length,
        max_length=None,
        units=50,
        batch_size=20,
        jit_compile=True,
        length_seed=LENGTH_SEED,
        task_options=None,
        parts="auto",
    ):
        self.spec = get_task(task)
        self.task = task
        iterable = isinstance(runs, Iterable) and not isinstance(runs, str)
        self.runs = list(runs) if iterable else []
        if not self.runs or not all(isinstance(r, RunSpec) for r in self.runs):
            raise ValueError(
                "Argument `runs` must be a non-empty list of `RunSpec`. "
                f"Received: runs={runs!r}"
            )
        max_length = min_length if max_length is None else max_length
        # Python ints (numpy's would not go into a checkpoint's JSON).
        self.min_length, self.max_length = _validation.check_length_range(
            min_length, max_length, self.spec.minimum_length, self.spec.label
        )
        self.units = _validation.check_positive_int("units", units)
        self.batch_size = _validation.check_positive_int("batch_size", batch_size)
        length_seed = _validation.check_seed(
            length_seed, "length_seed", allow_none=False
        )
        shared = [i for i, r in enumerate(self.runs) if r.batches_seed == length_seed]
        if shared:
            raise ValueError(
                f"The batches of runs {shared} would be drawn from the stream of "
                f"the length draws: their seed (`data_seed`, or `seed` when it is "
                f"None) equals `length_seed`={length_seed}. Choose another "
                "`length_seed` or seed."
            )
        if not isinstance(jit_compile, bool | np.bool_):
            raise ValueError(
                "Argument `jit_compile` must be True or False. "
                f"Received: jit_compile={jit_compile!r}"
            )
        self.jit_compile = bool(jit_compile)
        self.parts = check_parts("parts", parts)
        self.length_seed = length_seed
        self.task_options = {
            name: value.item() if isinstance(value, np.generic) else value
            for name, value in self.spec.check_options(task_options).items()
        }
        self.updates = 0
        self.active = np.ones(len(self.runs), bool)
        self.run_updates = np.zeros(len(self.runs), np.int64)
        models = [self._model(i) for i in range(len(self.runs))]
        activations = {m.get_layer("rnn").cell.activation.__name__ for m in models}
        if len(activations) != 1 or not activations <= set(_ACTIVATIONS):
            raise ValueError(
                "All `runs` of one trainer must share a tanh or sigmoid activation; "
                f"their schemes give {sorted(activations)}. Use one trainer per "
                "activation."
            )
        (self.activation,) = activations
        self.ratio = models[0].get_layer("rnn").omega_ratio
        self.dtype = keras.backend.standardize_dtype(
            models[0].get_layer("rnn").cell.kernel.dtype
        )
        self._weights = [
            np.stack(w) for w in zip(*(m.get_weights() for m in models), strict=True)
        ]
        self._steps = {}
        self._predict = None
        self._load_active()

    def _model(self, index):
        """The run's `task_model`, with its initial weights.

        Its initialisers are seeded with `run.seed`, so the weights do not
        depend on the global random state. That state is left as it was:
        Keras draws the seeds of a layer's own generators from Python's
        `random` (and the global Keras generator, made at its first use, its
        seed from it too), so Python's and NumPy's states are put back.
        """
        run = self.runs[index]
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            return self._build_model(run)
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)

    def _build_model(self, run):
        return task_model(
            self.task,
            method=run.method,
            units=self.units,
            scheme=run.scheme,
            learning_rate=run.learning_rate,
            threshold=run.threshold,
            omega=run.omega,
            seed=run.seed,
            **(
                {"n_values": self.task_options["n_values"]}
                if "n_values" in self.task_options
                else {}
            ),
        )

    def _load_active(self):
        """Puts the active runs' weights and hyper-parameters on the device."""
        self._load_stack(np.flatnonzero(self.active))

    def _load_stack(self, index):
        """Puts runs `index` (stopped ones included) in the compiled step."""
        self._params = [tf.constant(w[index]) for w in self._weights]
        self._stacked = np.asarray(index, dtype=np.int64)
        self._load_hyper()

    def _load_hyper(self):
        runs = [self.runs[i] for i in self._stacked]
        clipped = [r.method != "sgd" for r in runs]
        dtype = self.dtype
        # Thresholds are float32, as `ClippedOptimizer` keeps them.
        self._hyper = (
            tf.constant([r.learning_rate for r in runs], dtype),
            tf.cast(
                tf.constant(
                    [r.threshold if c else np.inf for r, c in zip(runs, clipped)],
                    tf.float32,
                ),
                dtype,
            ),
            tf.constant(
                [r.omega if r.method == "sgd-cr" else 0.0 for r in runs], dtype
            ),
            tf.constant([_MAX_FINITE_NORM if c else np.inf for c in clipped], dtype),
            tf.constant(self.active[self._stacked], dtype),
        )

    def _store_active(self):
        """Copies the device weights back into the weights of all runs."""
        for stored, param in zip(self._weights, self._params, strict=True):
            stored[self._stacked] = param.numpy()

    def _groups(self):
        """Into how many groups of runs the compiled step splits the stack."""
        runs = len(self._stacked)
        if self.parts != "auto":
            return min(self.parts, runs)
        return min(side_by_side(), runs) if self.jit_compile else 1

    def _step(self, steps):
        key = (len(self._stacked), steps)
        if key not in self._steps:
            self._steps[key] = _update_fn(
                self.activation,
                self.spec.output_head,
                self.ratio,
                self.jit_compile,
                self._groups(),
            )
        return self._steps[key]

    def batch(self, update=None):
        """The batches of an update for the stacked runs, padded to a bucket.

        Returns:
            `(steps, inputs, targets)`: the number of steps and numpy arrays
            `(runs, batch, bucket, ...)` (per-step targets padded too), where
            `bucket` is `steps` rounded up to a multiple of `BUCKET_STEPS`,
            so that one compiled step serves many lengths.
        """
        update = (
            self.updates
            if update is None
            else _validation.check_non_negative_int("update", update)
        )
        length = sample_length(
            self.min_length,
            self.max_length,
            np.random.default_rng([self.length_seed, update]),
        )
        options = dict(self.task_options)
        if self.spec.steps_fn is not None:
            # One generated length for all runs, drawn from the length stream.
            options["steps"] = self.spec.steps_fn(
                length, np.random.default_rng([self.length_seed, update, 1])
            )
        cache = {}
        seeds = []
        for i in self._stacked:
            # A stopped run still in the stack takes any batch (it is not updated).
            seed = (
                self.runs[i].batches_seed if self.active[i] else next(iter(cache), None)
            )
            if seed is None:
                seed = self.runs[i].batches_seed
            if seed not in cache:
                cache[seed] = self.spec.batch_fn(
                    length,
                    self.batch_size,
                    np.random.default_rng([seed, update]),
                    **options,
                )
            seeds.append(seed)
        batches = [cache[seed] for seed in seeds]
        steps = batches[0][0].shape[1]
        inputs = _pad_steps(np.stack([b[0] for b in batches]), 2).astype(self.dtype)
        targets = np.stack([b[1] for b in batches])
        if self.spec.output_head == "softmax":
            targets = _pad_steps(targets, 2)
        if self.spec.output_head == "last_linear":
            targets = targets.astype(self.dtype)
        return steps, inputs, targets

    def train(self, num_updates):
        """Advances every active run by `num_updates` updates.

        Returns:
            A dict of per-run numpy arrays (one entry per run of `runs`; NaN
            for inactive runs): the means over these updates of `STAT_NAMES`
            (`clipped` and `nonfinite` as fractions of the updates).
        """
        _validation.check_positive_int("num_updates", num_updates)
        if not self.active.any():
            raise ValueError("No active run left to train.")
        stats = []
        for _ in range(num_updates):
            steps, inputs, targets = self.batch()
            self._params, step_stats = self._step(inputs.shape[2])(
                self._params, inputs, targets, tf.constant(steps), self._hyper
            )
            stats.append(step_stats)
            # Counted with each update, so that an interrupted `train` leaves
            # the counts matching the weights (`save` stores both).
            self.updates += 1
            self.run_updates[self.active] += 1
        self._store_active()
        means = np.mean(np.stack([s.numpy() for s in stats]), axis=0)
        table = np.full((len(self.runs), len(STAT_NAMES)), np.nan)
        stacked_active = self.active[self._stacked]
        table[self._stacked[stacked_active]] = means[stacked_active]
        return {name: table[:, j] for j, name in enumerate(STAT_NAMES)}

    def predict(self, inputs, runs=None):
        """Predictions `(runs, batch, ...)` of the active `runs` (default: all).

        Args:
            inputs: `(batch, time, features)` array, shared by the runs.
            runs: list of indices into `runs` (active ones), or None.
        """
        runs = self._check_active_runs(runs)
        inputs = self._check_inputs(inputs)
        stacked = self._stacked.tolist()
        positions = tf.constant([stacked.index(i) for i in runs], tf.int32)
        if self._predict is None:
            self._predict = tf.function(
                lambda params, positions, inputs, length: _predict(
                    [tf.gather(p, positions) for p in params],
                    inputs,
                    length,
                    self.activation,
                    self.spec.output_head,
                ),
                jit_compile=self.jit_compile,
            )
        steps = np.shape(inputs)[1]
        padded = tf.convert_to_tensor(_pad_steps(np.asarray(inputs), 1), self.dtype)
        predictions = self._predict(self._params, positions, padded, tf.constant(steps))
        predictions = predictions.numpy()
        if self.spec.output_head == "softmax":
            predictions = predictions[:, :, :steps]
        return predictions

    def _check_active_runs(self, runs):
        """`runs` (default: the active runs) as a list of distinct indices of
        active runs."""
        active = np.flatnonzero(self.active).tolist()
        if runs is None:
            runs = active
        elif not isinstance(runs, Iterable) or isinstance(runs, str):
            raise ValueError(
                "Argument `runs` must be a list of indices of active runs "
                f"{active}, or None. Received: runs={runs!r}"
            )
        runs = list(runs)
        if not runs:
            raise ValueError(
                "Argument `runs` must name at least one active run; "
                + (f"the active runs are {active}." if active else "none is active.")
            )
        bad = [r for r in runs if not _validation.is_integer(r) or r not in active]
        if bad:
            raise ValueError(
                f"Argument `runs` must name active runs {active}. Received: {bad}"
            )
        if len(set(runs)) != len(runs):
            raise ValueError(
                f"Argument `runs` must name each run once. Received: runs={runs!r}"
            )
        return [int(r) for r in runs]

    def _check_inputs(self, inputs):
        """`inputs` as a `(batch, time, features)` numpy array of the task's
        input size, with at least one sequence and one step."""
        inputs = np.asarray(inputs)
        features = self.spec.sizes(**self.task_options)[0]
        if (
            inputs.ndim != 3
            or inputs.shape[0] == 0
            or inputs.shape[1] == 0
            or inputs.shape[2] != features
            or not (
                np.issubdtype(inputs.dtype, np.number)
                or np.issubdtype(inputs.dtype, np.bool_)
            )
        ):
            raise ValueError(
                "Argument `inputs` must be a numeric array of shape (batch, time, "
                f"{features}) with batch and time at least 1 ({self.spec.label}). "
                f"Received: shape {inputs.shape}, dtype {inputs.dtype}"
            )
        return inputs

    def evaluate(
        self,
        num_sequences=10000,
        chunk_size=1000,
        min_length=None,
        max_length=None,
        seed=None,
        runs=None,
        lengths="random",
    ):
        """`evaluate_task`'s protocol for active `runs`, on shared sequences.

        Lengths default to the training range; `runs` to all active runs;
        `lengths` (`"random"` or `"every"`) as in `evaluate_task`.
        Returns a dict from run index to `evaluate_task`'s result.
        """
        runs = self._check_active_runs(runs)
        min_length = self.min_length if min_length is None else min_length
        max_length = self.max_length if max_length is None else max_length
        results = evaluate_predictions(
            lambda inputs: self.predict(inputs, runs),
            self.task,
            num_sequences=num_sequences,
            chunk_size=chunk_size,
            min_length=min_length,
            max_length=max_length,
            seed=seed,
            lengths=lengths,
            **self.task_options,
        )
        return dict(zip(runs, results, strict=True))

    def deactivate(self, indices):
        """Stops training the runs `indices` (their weights are kept).

        Stopped runs stay in the compiled step, not updated, until at most
        two thirds of its runs are active; then the step is rebuilt for the
        active runs alone (new compilations per bucket: one per group size).
        """
        indices = self._check_indices(indices)
        self._store_active()
        self.active[indices] = False
        if self.active[self._stacked].sum() * 3 <= 2 * len(self._stacked):
            self._load_active()
        else:
            self._load_hyper()

    def reactivate(self, indices):
        """Trains the stopped runs `indices` again, from their kept weights.

        Their batches continue the trainer's stream (the current update), and
        the compiled step is rebuilt for the active runs (new compilations per
        bucket: one per group size).
        """
        indices = self._check_indices(indices)
        self._store_active()
        self.active[indices] = True
        self._load_active()

    def _check_indices(self, indices):
        """`indices` as a list, if every one names a run (no negative ones)."""
        if _validation.is_integer(indices):
            indices = [indices]
        indices = list(indices)
        unknown = [
            i
            for i in indices
            if not _validation.is_integer(i) or not 0 <= i < len(self.runs)
        ]
        if unknown:
            raise ValueError(
                f"Argument `indices` must name runs 0-{len(self.runs) - 1}. "
                f"Received: {unknown}"
            )
        return [int(i) for i in indices]

    def to_model(self, index):
        """Run `index` as its compiled `task_model`, with its current weights."""
        (index,) = self._check_indices([index])
        self._store_active()
        model = self._model(index)
        model.set_weights([w[index] for w in self._weights])
        return model

    def save(self, path, metadata=None):
        """Writes a checkpoint: `<path>.npz`, and `<path>.json` to read.

        The `.npz` holds everything `restore` needs (weights, run states and
        the trainer's configuration) and is replaced in one step, so a
        checkpoint interrupted while being written is the previous one or the
        new one, never a mix. The `.json` is a readable copy of the
        configuration. `metadata`, any JSON-serialisable value (say the
        caller's record of its evaluations), is stored in the same file, so
        that it always matches the weights; `checkpoint_metadata` reads it.
        """
        self._store_active()
        path = pathlib.Path(path)
        # JSON first: if it cannot be written, no file is replaced.
        config = json.dumps(self._config(), indent=1)
        stored_metadata = json.dumps(metadata)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(
            tmp,
            *self._weights,
            active=self.active,
            run_updates=self.run_updates,
            stacked=self._stacked,  # the runs in the step, stopped ones too
            config=_json_bytes(config),
            metadata=_json_bytes(stored_metadata),
        )
        tmp.replace(path.with_name(path.name + ".npz"))
        tmp = path.with_name(path.name + ".tmp.json")
        tmp.write_text(config)
        tmp.replace(path.with_name(path.name + ".json"))

    @staticmethod
    def checkpoint_exists(path):
        """Whether `save(path)` has written a checkpoint there."""
        return pathlib.Path(path).with_name(pathlib.Path(path).name + ".npz").is_file()

    @staticmethod
    def checkpoint_metadata(path):
        """The `metadata` that `save(path, metadata)` stored (None if none)."""
        path = pathlib.Path(path)
        with np.load(path.with_name(path.name + ".npz")) as stored:
            if "metadata" not in stored.files:
                return None
            return json.loads(stored["metadata"].tobytes())

    def _config(self):
        """The trainer's arguments and update count, as `save` writes them."""
        return {
            "task": self.task,
            "runs": [dataclasses.asdict(r) for r in self.runs],
            "min_length": self.min_length,
            "max_length": self.max_length,
            "units": self.units,
            "batch_size": self.batch_size,
            "jit_compile": self.jit_compile,
            "length_seed": self.length_seed,
            "task_options": self.task_options,
            "parts": self.parts,
            "updates": self.updates,
            "dtype": self.dtype,
        }

    @classmethod
    def restore(cls, path):
        """A trainer from `save`'s checkpoint, resuming bit for bit."""
        path = pathlib.Path(path)
        with np.load(path.with_name(path.name + ".npz")) as stored:
            if "config" in stored.files:
                config = json.loads(stored["config"].tobytes())
            else:  # checkpoints from before the configuration was in the .npz
                config = json.loads(path.with_name(path.name + ".json").read_text())
            # Checkpoints from before the dtype was kept: their weights'.
            dtype = config.pop("dtype", stored["arr_0"].dtype.name)
            updates = config.pop("updates")
            config["runs"] = [RunSpec(**r) for r in config["runs"]]
            # Checkpoints from before `parts` ran in one group.
            config.setdefault("parts", 1)
            trainer = cls(**config)
            if trainer.dtype != dtype:
                raise ValueError(
                    f"The checkpoint {str(path)!r} holds {dtype} weights, and a "
                    f"trainer built now computes in {trainer.dtype} (the dtype of "
                    "`task_model`'s weights under the global dtype policy): call "
                    f"`keras.config.set_floatx({dtype!r})` (or set a {dtype} "
                    "dtype policy) before `restore`."
                )
            trainer._weights = [
                stored[f"arr_{i}"] for i in range(len(trainer._weights))
            ]
            trainer.active = stored["active"]
            trainer.run_updates = stored["run_updates"]
            # Checkpoints from before `stacked` held the active runs only.
            stacked = (
                stored["stacked"]
                if "stacked" in stored.files
                else np.flatnonzero(trainer.active)
            )
        trainer.updates = updates
        trainer._load_stack(stacked)
        return trainer


def _json_bytes(text):
    """JSON text as a uint8 array, for an `.npz` entry (UTF-8, not UTF-32)."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
