"""`ClippedOptimizer`: gradient-norm clipping after cross-replica aggregation."""

import numbers
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_rnncr import _private_apis, _validation
from keras_rnncr.optimizers import _math
from keras_rnncr.optimizers import thresholds as thresholds_lib

MODES = ("global_norm", "elementwise")
NONFINITE_POLICIES = ("skip", "shrink", "raise", "propagate")

# Layout of the `clip_stats` variable (float64, so counts stay exact).
STATISTICS = (
    "grad_norm",
    "clip_threshold",
    "steps",
    "clipped_steps",
    "nonfinite_steps",
    "grad_norm_sum",
    "pending_error",
    "pending_error_step",
    "pending_error_norm",
)
# Entries of `clip_stats` that each step replaces (the others accumulate).
_REPLACE = (True, True, False, False, False, False)


def _overwrites(variable):
    """Whether `variable` takes its gradient as its new value (float8)."""
    return bool(getattr(variable, "overwrite_with_gradient", False))


def check_threshold(threshold):
    """`threshold` as `ClippedOptimizer` takes it: a positive float (at least
    float32's smallest positive value) or a `ThresholdRule` (`thresholds.get`:
    an instance, its config or a name); a clear error otherwise."""
    if isinstance(threshold, numbers.Real) and not isinstance(threshold, bool):
        threshold = _validation.check_positive_float("threshold", threshold)
        if np.float32(threshold) == 0.0:
            raise ValueError(
                "Argument `threshold` must be at least float32's smallest "
                "positive value (1.4e-45); the statistics are float32, where "
                f"it would be 0. Received: threshold={threshold!r}"
            )
        return threshold
    return thresholds_lib.get(threshold)


@keras.saving.register_keras_serializable(package="keras_rnncr")
class ClippedOptimizer(_private_apis.InnerMovingAverages, keras.optimizers.Optimizer):
    """An optimizer wrapper that clips the global gradient norm, then steps.

    Rescales the gradient that the wrapped optimizer receives so that its
    global L2 norm (over all variables together) is at most `threshold`, and
    guards against non-finite gradients. Under `tf.distribute` strategies
    (`MirroredStrategy`, `MultiWorkerMirroredStrategy`) the norm is that of the
    aggregated global-batch gradient, so N replicas take the same step as one
    device on the same global batch (when the batch splits evenly: Keras
    scales each replica's loss by its own share of the batch, so an uneven
    last batch weights its examples unequally, with or without this wrapper).
    Keras's own `global_clipnorm`/`clipnorm` clip each replica's local
    gradient before aggregation instead. Under a `MirroredStrategy`, Keras
    compiles without XLA by default (`jit_compile="auto"`); asked for
    `jit_compile=True` there, `fit` fails on a variable of another device
    ("Trying to access resource ... located in device"), with Keras's own
    optimizers as with this wrapper (TensorFlow 2.21, Keras 3.15, two logical
    CPUs): a TensorFlow limitation, see
    https://www.tensorflow.org/xla/known_issues.

    Sparse gradients (an `Embedding`'s `IndexedSlices`) reach the wrapped
    optimizer with each row once (repeated rows summed; Keras's sparse Adam
    and RMSprop update a repeated row wrongly) and, under a strategy with
    several replicas, dense. As with Keras's own clipping, the variables that
    take their gradient as their new value (`overwrite_with_gradient`: the
    scales of `model.quantize("float8")`) are neither clipped nor counted in
    the norm.

    Pascanu, Mikolov & Bengio, ICML 2013, Algorithm 1:

    ```
    g = dE/dtheta                        # summed over replicas
    norm = sqrt(sum(g_i ** 2 for all variables i))
    if norm > threshold:
        g = g * threshold / norm
    ```

    With `mode="elementwise"` every gradient element is clipped to
    `[-threshold, threshold]` instead (Mikolov's variant, which the paper says
    "behaves similarly").

    Note: following the released code (RNN.py), a norm above
    `max_finite_norm` (1e10) counts as non-finite, and `nonfinite="shrink"`
    reproduces its guard: recurrent kernels get the gradient
    `shrink_factor * W` (0.02 W), every other variable a zero gradient.

    Note: with `gradient_accumulation_steps` on the inner optimizer, each
    micro-batch gradient is clipped (and checked) before it is accumulated;
    the accumulated average is not clipped again.

    Note: under `jit_compile=True` (XLA) TensorFlow removes assertions, so
    `nonfinite="raise"` cannot fail inside the step. There the offending step
    is skipped and recorded in the optimizer's variables, every later step is
    skipped too (the weights stay those from before the offending step), and
    the `tf.errors.InvalidArgumentError` is raised from Python at the first
    chance: by `keras_rnncr.callbacks.ClippingLogger` at the end of the batch,
    else when `fit` ends (in `finalize_variable_values`); in a custom loop
    call `raise_if_nonfinite()` after each step. A warning says so once, when
    the step is traced.

    The state (last pre-clip norm, threshold in force, step, clipped-step and
    non-finite-step counts, and any adaptive-threshold statistics) lives in
    optimizer variables, so it is saved and restored with the model.
    `keras_rnncr.callbacks.ClippingLogger` writes it to the `fit` logs.

    Args:
        inner_optimizer: The `keras.optimizers.Optimizer` to wrap. It must not
            set `clipnorm`, `global_clipnorm` or `clipvalue`, and must not be
            a `keras.optimizers.LossScaleOptimizer`: put that one outside,
            `LossScaleOptimizer(ClippedOptimizer(...))`, so that the gradient
            is unscaled before it is clipped (`model.compile` does so under
            the `"mixed_float16"` policy). A step it skips for overflow never
            reaches this optimizer and leaves its statistics unchanged.
        threshold: Positive float (the paper's threshold, default 1.0), or an
            adaptive rule: a `ThresholdRule` instance
            (`AverageNormThreshold`, `PercentileThreshold`, `ZScoreThreshold`)
            or one of the names `"average"`, `"percentile"` (or `"autoclip"`),
            `"zscore"` (or `"zclip"`). Adaptive rules need
            `mode="global_norm"`.
        mode: `"global_norm"` (default, Algorithm 1) or `"elementwise"`.
        nonfinite: What to do when the aggregated gradient has a NaN/inf or a
            norm above `max_finite_norm`; every replica takes the same
            decision. `"skip"` (default): no variable changes, the inner
            optimizer's `iterations` does not advance and `nonfinite_steps`
            counts the step. `"shrink"`: the released code's guard (see Note).
            `"raise"`: no variable changes, and an error naming the step (see
            Note on XLA).
            `"propagate"`: apply the gradient unchanged (NaN reaches the
            weights if the gradient has one: the one choice that lets it).
        max_finite_norm: Positive float or `None`. Norms above it are treated
            as non-finite (NaN and inf always are). Defaults to 1e10, as in
            the released code. The norm is exact for finite gradients up to
            the largest value of their dtype (an overflowing sum of squares
            is taken again, rescaled).
        shrink_factor: Positive float, the `nonfinite="shrink"` factor.
            Defaults to 0.02, as in the released code.
        name: String, the name of the optimizer.

    Example:

    ```python
    model.compile(
        optimizer=ClippedOptimizer(keras.optimizers.SGD(0.01), threshold=1.0),
        loss="mse",
    )
    model.fit(x, y, callbacks=[keras_rnncr.callbacks.ClippingLogger()])
    ```
    """

    def __init__(
        self,
        inner_optimizer,
        threshold=1.0,
        mode="global_norm",
        nonfinite="skip",
        max_finite_norm=1e10,
        shrink_factor=0.02,
        name=None,
        **kwargs,
    ):
        if not isinstance(inner_optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                "Argument `inner_optimizer` must be a "
                "`keras.optimizers.Optimizer` instance. "
                f"Received: inner_optimizer={inner_optimizer!r}"
            )
        if isinstance(inner_optimizer, keras.optimizers.LossScaleOptimizer):
            raise ValueError(
                "Argument `inner_optimizer` must not be a `LossScaleOptimizer`: "
                "inside `ClippedOptimizer` it would divide gradients that were "
                "never scaled by its loss scale, shrinking every update. Put the "
                "loss-scale optimizer outside instead: "
                "`LossScaleOptimizer(ClippedOptimizer(inner, ...))`. (Under the "
                "'mixed_float16' dtype policy, `model.compile` does this by itself "
                "when given a `ClippedOptimizer`.) "
                f"Received: inner_optimizer={inner_optimizer!r}"
            )
        for arg in ("clipnorm", "global_clipnorm", "clipvalue"):
            value = getattr(inner_optimizer, arg, None)
            if value is not None:
                raise ValueError(
                    f"The inner optimizer sets `{arg}={value}`. Keras clips each "
                    "replica's gradient before aggregation, and a second clip "
                    "would change the step of `ClippedOptimizer`. Remove "
                    f"`{arg}` from the inner optimizer and pass the value as "
                    f"`ClippedOptimizer(..., threshold={value})` instead."
                )
        if kwargs:
            raise ValueError(
                "ClippedOptimizer does not support arguments: "
                f"`{'`, `'.join(kwargs)}`. Set them on the `inner_optimizer`."
            )
        if mode not in MODES:
            raise ValueError(
                f"Argument `mode` must be one of {MODES}. Received: mode={mode!r}"
            )
        if nonfinite not in NONFINITE_POLICIES:
            raise ValueError(
                f"Argument `nonfinite` must be one of {NONFINITE_POLICIES}. "
                f"Received: nonfinite={nonfinite!r}"
            )
        threshold = check_threshold(threshold)
        if isinstance(threshold, thresholds_lib.ThresholdRule):
            if mode != "global_norm":
                raise ValueError(
                    "An adaptive `threshold` needs `mode='global_norm'`. "
                    f"Received: mode={mode!r}, threshold={threshold!r}"
                )
        max_finite_norm = _validation.check_positive_float(
            "max_finite_norm", max_finite_norm, allow_none=True
        )
        shrink_factor = _validation.check_positive_float("shrink_factor", shrink_factor)
        # A loss scale factor on the inner optimizer would unscale after our
        # clip; move it here so that gradients are unscaled first.
        loss_scale_factor = inner_optimizer.loss_scale_factor
        inner_optimizer.loss_scale_factor = None
        super().__init__(
            learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name
        )
        self.inner_optimizer = inner_optimizer
        self.threshold = threshold
        self.mode = mode
        self.nonfinite = nonfinite
        self.max_finite_norm = max_finite_norm
        self.shrink_factor = shrink_factor
        self._warned_xla = False
        # The wrapper's state does not depend on the model's variables, so it
        # is created here, as Keras creates `iterations`, rather than in
        # `build`: a compiled but untrained model then saves the variables it
        # loads (`load_model` builds the optimizer before loading).
        self.clip_stats = self.add_variable(
            shape=(len(STATISTICS),),
            dtype="float64",
            initializer="zeros",
            aggregation="only_first_replica",
            name="clip_stats",
        )
        self._rule_state = {}
        if isinstance(self.threshold, thresholds_lib.ThresholdRule):
            for key, (shape, dtype) in self.threshold.state_spec().items():
                self._rule_state[key] = self.add_variable(
                    shape=shape,
                    dtype=dtype,
                    initializer="zeros",
                    aggregation="only_first_replica",
                    name=f"threshold_{key}",
                )

    # ------------------------------------------------------------------ state

    def build(self, var_list):
        if self.built:
            return
        self.inner_optimizer.build(var_list)
        super().build(var_list)

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    def set_weights(self, weights):
        """Sets the wrapper's variables, then the inner optimizer's."""
        own = len(self._variables)
        super().set_weights(weights[:own])
        self.inner_optimizer.set_weights(weights[own:])

    def save_own_variables(self, store):
        """Saves the wrapper's variables only.

        Keras saving visits `inner_optimizer` as an object of its own, which
        saves (and loads) the inner optimizer's variables itself.
        """
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        """Loads the wrapper's variables (see `save_own_variables`).

        Files whose wrapper entry also holds the inner optimizer's variables
        after its own (written by earlier versions) load the same way.
        """
        own = self._variables
        if len(store.keys()) not in (len(own), len(self.variables)):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}', because "
                f"it has {len(own)} variables of its own whereas the saved "
                f"optimizer has {len(store.keys())} variables.",
                stacklevel=2,
            )
            return
        for i, variable in enumerate(own):
            variable.assign(store[str(i)])

    def statistics(self):
        """Returns the clipping statistics as a dict of Python floats.

        Keys: `grad_norm` (pre-clip global norm of the last step's aggregated
        gradient), `clip_threshold` (threshold in force at the last step;
        `inf` means no clipping), `steps` (calls to `apply`, skipped steps
        included, but not those skipped under XLA after an error of
        `nonfinite="raise"` was recorded: they change nothing),
        `clipped_steps`, `nonfinite_steps`, `grad_norm_sum` (sum of the
        pre-clip norms of all finite steps), and for `nonfinite="raise"`
        under XLA `pending_error` (1.0 while a recorded non-finite step has
        not been raised yet), `pending_error_step` (its
        `iterations`) and `pending_error_norm`.
        """
        values = self.clip_stats.numpy()
        return {key: float(values[i]) for i, key in enumerate(STATISTICS)}

    # ----------------------------------------------------------------- apply

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        pairs = [
            (g, v)
            for g, v in zip(grads, trainable_variables, strict=True)
            if g is not None
        ]
        if not pairs:
            return
        # float8's scales and amax histories take their "gradient" as their
        # new value; as in Keras, they are left out of clipping (and out of
        # the norm) and handed to the inner optimizer as they are.
        passed = [(g, v) for g, v in pairs if _overwrites(v)]
        pairs = [(g, v) for g, v in pairs if not _overwrites(v)]
        if not pairs:
            self.inner_optimizer.apply(*(list(x) for x in zip(*passed)))
            return
        grads, variables = (list(x) for x in zip(*pairs, strict=True))

        context = tf.distribute.get_replica_context()
        if context is None:
            raise ValueError(
                "`ClippedOptimizer.apply()` must be called in a replica context."
            )
        num_replicas = context.num_replicas_in_sync
        if num_replicas > 1:
            # Dense: replicas' sparse gradients hold different numbers of rows,
            # which the collective all-reduce refuses.
            grads = [_math.merged_rows(g) for g in grads]
            grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        if self.loss_scale_factor is not None:
            factor = self.loss_scale_factor
            grads = [_math.map_values(g, lambda v: v / factor) for g in grads]
        # One row per embedding row: Keras's sparse Adam, RMSprop, ... update
        # a row that appears twice wrongly (Keras's own clipping passes them
        # dense, so its users never meet it).
        grads = [_math.deduplicated(g) for g in grads]

        # The statistics and thresholds are float32; a float64 model's norm
        # is float64 and scales its gradients in float64.
        exact_norm = _math.global_norm(grads)
        # Judged on the exact norm: a finite float64 norm beyond float32's
        # range is not a non-finite step; the float32 statistics take
        # float32's largest value for it.
        nonfinite = _math.is_nonfinite(exact_norm, self.max_finite_norm)
        norm = tf.cast(_math.clamp_to_float32(exact_norm), tf.float32)
        valid = tf.logical_not(nonfinite)
        # Under XLA, `nonfinite="raise"` skips every step after a recorded
        # error: those steps change neither the threshold rule nor the
        # statistics, as if they had not run (they do not without XLA).
        pending = self._pending_error()
        threshold = self._threshold_in_force(
            norm, tf.logical_and(valid, tf.logical_not(pending))
        )
        if self.mode == "global_norm":
            clipped_grads, clipped = _math.clip_by_global_norm(
                grads, exact_norm, tf.cast(threshold, exact_norm.dtype)
            )
        else:
            clipped_grads, clipped = _math.clip_elementwise(grads, threshold)

        if self.nonfinite == "shrink":
            clipped_grads = _math.select(
                nonfinite,
                _math.shrink_gradients(grads, variables, self.shrink_factor),
                clipped_grads,
            )
        if self.nonfinite == "raise":
            # Recorded only if the assertion passes, i.e. under XLA.
            with tf.control_dependencies(self._assert_finite(norm, valid)):
                self._record(norm, threshold, clipped, nonfinite, pending)
            skip = tf.logical_or(nonfinite, pending)
        else:
            self._record(norm, threshold, clipped, nonfinite, pending)
            skip = nonfinite

        if num_replicas > 1:
            # The inner optimizer sums over replicas again.
            clipped_grads = [
                _math.map_values(g, lambda v: v / num_replicas) for g in clipped_grads
            ]
        if passed:
            clipped_grads += [g for g, _ in passed]
            variables += [v for _, v in passed]
        if self.nonfinite in ("skip", "raise"):
            self._apply_unless(skip, clipped_grads, variables, context)
        else:
            self.inner_optimizer.apply(clipped_grads, variables)

    def _assert_finite(self, norm, valid):
        """The in-step error of `nonfinite="raise"`; XLA removes it (warned)."""
        if _private_apis.in_xla_context() and not self._warned_xla:
            self._warned_xla = True
            warnings.warn(
                "ClippedOptimizer(nonfinite='raise') runs in an XLA-compiled "
                "step (jit_compile=True), where TensorFlow removes assertions. "
                "A non-finite step is skipped and recorded instead, every later "
                "step is skipped, and the error is raised from Python at the "
                "first chance: at the end of the batch with the "
                "keras_rnncr.callbacks.ClippingLogger callback, otherwise when "
                "`fit` ends; in a custom loop, call "
                "`optimizer.raise_if_nonfinite()` after each step.",
                stacklevel=3,
            )
        assertion = tf.debugging.Assert(
            valid,
            [
                "ClippedOptimizer: non-finite gradient (global norm",
                norm,
                f"; max_finite_norm={self.max_finite_norm}) at step",
                self.iterations,
                "(inner optimizer iterations). The step was skipped.",
            ],
            name="nonfinite_gradient",
        )
        return [] if assertion is None else [assertion]

    def raise_if_nonfinite(self, detail=""):
        """Raises the error of a recorded non-finite step (`nonfinite="raise"`).

        Under XLA a step cannot raise, so `apply` records the first non-finite
        step and skips it and every later one (see the class Note). This
        raises that error from Python, as a `tf.errors.InvalidArgumentError`
        like the in-step one, and clears the record so that training can
        resume. It does nothing if no such step is pending.

        Args:
            detail: String appended to the message (where it was detected).
        """
        if self.nonfinite != "raise" or not self.built:
            return
        values = self.clip_stats.numpy()
        flag = STATISTICS.index("pending_error")
        if not values[flag]:
            return
        step = int(values[STATISTICS.index("pending_error_step")])
        norm = float(values[STATISTICS.index("pending_error_norm")])
        values[flag] = 0.0
        self.clip_stats.assign(values)
        raise tf.errors.InvalidArgumentError(
            None,
            None,
            f"ClippedOptimizer: non-finite gradient (global norm {norm}; "
            f"max_finite_norm={self.max_finite_norm}) at step {step} (inner "
            f"optimizer iterations){detail}. Under jit_compile=True (XLA) the "
            "error cannot stop the step, so that step and every later one were "
            f"skipped: the weights are those from before step {step}.",
        )

    def _threshold_in_force(self, norm, valid):
        if not isinstance(self.threshold, thresholds_lib.ThresholdRule):
            return tf.constant(self.threshold, tf.float32)
        state = {k: tf.convert_to_tensor(v) for k, v in self._rule_state.items()}
        threshold = self.threshold.threshold(state, norm, valid)
        new_state = self.threshold.update(state, norm, threshold, valid)
        for key, value in new_state.items():
            self._rule_state[key].assign(value)
        return threshold

    def _pending_error(self):
        """Whether an error of `nonfinite="raise"` is recorded and not raised."""
        if self.nonfinite != "raise":
            return tf.constant(False)
        return self.clip_stats[STATISTICS.index("pending_error")] > 0.0

    def _record(self, norm, threshold, clipped, nonfinite, was_pending):
        """Updates `clip_stats` (layout: `STATISTICS`) in a single assignment.

        Written as one vector update (few ops: this runs every step). A step
        skipped for a pending error (`was_pending`) changes nothing.
        """
        stats = tf.convert_to_tensor(self.clip_stats)
        finite = tf.logical_not(nonfinite)
        # The step's value of each running entry (grad_norm .. grad_norm_sum);
        # the first two replace the running value, the others add to it.
        step = tf.cast(
            tf.stack(
                [
                    norm,
                    threshold,
                    1.0,
                    tf.cast(tf.logical_and(clipped, finite), tf.float32),
                    tf.cast(nonfinite, tf.float32),
                    tf.where(finite, norm, 0.0),
                ]
            ),
            tf.float64,
        )
        running = tf.where(_REPLACE, step, stats[:6] + step)
        running = tf.where(was_pending, stats[:6], running)
        pending = stats[6:]
        if self.nonfinite == "raise":
            new_error = tf.logical_and(nonfinite, tf.logical_not(was_pending))
            error = tf.stack(
                [
                    tf.constant(1.0, tf.float64),
                    tf.cast(self.iterations, tf.float64),
                    step[0],
                ]
            )
            pending = tf.where(new_error, error, pending)
        self.clip_stats.assign(tf.concat([running, pending], axis=0))

    def _apply_unless(self, skip, grads, variables, context):
        """Applies `grads` with the inner optimizer unless `skip` (same on all
        replicas)."""
        inner_apply = self.inner_optimizer.apply
        # A strategy that synchronises replicas by merge calls (Mirrored, even
        # with one replica) needs them outside a cond's branch, which the
        # inner optimizer's apply would make in replica context.
        if not _private_apis.strategy_needs_merge_call():
            keras.ops.cond(skip, lambda: None, lambda: inner_apply(grads, variables))
            return

        # A cond whose branch synchronises replicas must run in a cross-replica
        # context (as in keras.optimizers.LossScaleOptimizer). `skip` is the
        # same on every replica because it was computed from all-reduced
        # gradients, so replica 0's value is the global decision.
        def cross_replica(distribution, skip, grads):
            skip = distribution.experimental_local_results(skip)[0]

            def apply_fn():
                distribution.extended.call_for_each_replica(
                    inner_apply, args=(grads, variables)
                )

            keras.ops.cond(skip, lambda: None, apply_fn)

        context.merge_call(cross_replica, args=(skip, grads))

    def apply_gradients(self, grads_and_vars):
        super().apply_gradients(grads_and_vars)
        return self.iterations

    # ------------------------------------------------------- forwarded state

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Excludes variables from the inner optimizer's weight decay (it is
        the inner optimizer that decays them); as Keras's, before `build`."""
        self.inner_optimizer.exclude_from_weight_decay(
            var_list=var_list, var_names=var_names
        )

    def finalize_variable_values(self, var_list):
        # `fit` calls this when it ends: the last chance to raise an error
        # that XLA kept from raising in the step.
        self.raise_if_nonfinite(", detected when training ended")
        self.inner_optimizer.finalize_variable_values(var_list)

    # --------------------------------------------------------- serialization

    def get_config(self):
        threshold = self.threshold
        if isinstance(threshold, thresholds_lib.ThresholdRule):
            threshold = keras.saving.serialize_keras_object(threshold)
        return {
            "name": self.name,
            "inner_optimizer": keras.saving.serialize_keras_object(
                self.inner_optimizer
            ),
            "threshold": threshold,
            "mode": self.mode,
            "nonfinite": self.nonfinite,
            "max_finite_norm": self.max_finite_norm,
            "shrink_factor": self.shrink_factor,
            "loss_scale_factor": self.loss_scale_factor,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = keras.saving.deserialize_keras_object(
            config.pop("inner_optimizer"), custom_objects=custom_objects
        )
        loss_scale_factor = config.pop("loss_scale_factor", None)
        if loss_scale_factor is not None:
            inner.loss_scale_factor = loss_scale_factor
        if isinstance(config.get("threshold"), dict):
            config["threshold"] = keras.saving.deserialize_keras_object(
                config["threshold"], custom_objects=custom_objects
            )
        return cls(inner, **config)
