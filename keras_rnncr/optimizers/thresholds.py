"""Adaptive clipping thresholds whose state lives in the optimizer's variables."""

import keras
import tensorflow as tf

from keras_rnncr import _validation
from keras_rnncr.optimizers import _math


class ThresholdRule:
    """Base class of the adaptive thresholds of `ClippedOptimizer`.

    A rule is configuration plus two pure functions of a state (a dict of
    tensors). `ClippedOptimizer` creates the state as optimizer variables, so
    it is saved, restored and replicated with the optimizer.

    Subclasses implement `state_spec()`, `threshold(state, norm, valid)` and
    `update(state, norm, threshold, valid)`. `valid` is false on steps whose
    gradient is non-finite, or that are skipped anyway; rules ignore those
    norms. Step counts are float64, exact up to 2**53 steps.
    """

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"

    def state_spec(self):
        """Returns `{name: (shape, dtype)}`; every state variable starts at 0."""
        raise NotImplementedError

    def threshold(self, state, norm, valid):
        """Returns the threshold in force for a step with pre-clip `norm`."""
        raise NotImplementedError

    def update(self, state, norm, threshold, valid):
        """Returns the next state (a dict with the keys of `state_spec()`)."""
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="keras_rnncr")
class AverageNormThreshold(ThresholdRule):
    """A multiple of the running average gradient norm (the paper's heuristic).

    Pascanu, Mikolov & Bengio, ICML 2013, Section 3.2, suggest looking "at
    statistics on the average norm over a sufficiently large number of
    updates"; "values from half to ten times this average can still yield
    convergence". This rule automates that: after `warmup_steps` finite steps
    the threshold is `multiplier` times the mean pre-clip norm of all earlier
    finite steps. During warm-up there is no clipping (threshold `inf`), nor
    while the mean is 0 (every norm so far 0, e.g. a warm-up on frozen
    weights): a threshold of 0 would scale every update to 0.

    ```
    threshold_t = multiplier * mean(norm_1 .. norm_{t-1})  if t - 1 >= warmup_steps
    ```

    Args:
        multiplier: Float > 0, the paper's "half to ten times". Defaults to 1.0.
        warmup_steps: Int >= 1, finite steps observed before clipping starts.
            Defaults to 100.

    Example:

    ```python
    optimizer = ClippedOptimizer(
        keras.optimizers.SGD(0.01),
        threshold=AverageNormThreshold(multiplier=2.0, warmup_steps=100),
    )
    ```
    """

    def __init__(self, multiplier=1.0, warmup_steps=100):
        self.multiplier = _validation.check_positive_float("multiplier", multiplier)
        self.warmup_steps = _validation.check_positive_int("warmup_steps", warmup_steps)

    def state_spec(self):
        return {"mean": ((), "float32"), "count": ((), "float64")}

    def threshold(self, state, norm, valid):
        return _unless_zero(
            _math.average_norm_threshold(
                state["mean"], state["count"], self.multiplier, float(self.warmup_steps)
            )
        )

    def update(self, state, norm, threshold, valid):
        mean, count = _math.running_mean_update(
            state["mean"], state["count"], tf.where(valid, norm, 0.0)
        )
        return {
            "mean": tf.where(valid, mean, state["mean"]),
            "count": tf.where(valid, count, state["count"]),
        }

    def get_config(self):
        return {"multiplier": self.multiplier, "warmup_steps": self.warmup_steps}


@keras.saving.register_keras_serializable(package="keras_rnncr")
class PercentileThreshold(ThresholdRule):
    """A percentile of the recent gradient-norm history (AutoClip).

    Seetharaman, Wichern, Pardo, Le Roux, "AutoClip: Adaptive Gradient Clipping
    for Source Separation Networks", MLSP 2020. Each finite step's pre-clip
    norm is appended to a ring buffer of the last `history_length` norms; the
    threshold is the `percentile`-th percentile of the buffer (current norm
    included, as in the reference code), with linear interpolation like
    `numpy.percentile`. While that percentile is 0 (at least that share of
    the buffer holds norms of 0, e.g. from a warm-up on frozen weights) there
    is no clipping: a threshold of 0 would scale every update to 0 (with the
    defaults, 100 zero norms would zero about 900 of the next 1,000 updates).

    Args:
        percentile: Float in (0, 100]. AutoClip recommends 10. Defaults to 10.0.
        history_length: Int >= 1, size of the ring buffer. Defaults to 1000.

    Example:

    ```python
    optimizer = ClippedOptimizer(
        keras.optimizers.Adam(1e-3), threshold=PercentileThreshold(10.0)
    )
    ```
    """

    def __init__(self, percentile=10.0, history_length=1000):
        self.percentile = _validation.check_float_in_range(
            "percentile", percentile, 0, 100, high_closed=True
        )
        self.history_length = _validation.check_positive_int(
            "history_length", history_length
        )

    def state_spec(self):
        return {
            "history": ((self.history_length,), "float32"),
            "count": ((), "float64"),
        }

    def _with_norm(self, state, norm, valid):
        history = _math.ring_buffer_insert(
            state["history"], state["count"], tf.where(valid, norm, 0.0)
        )
        return (
            tf.where(valid, history, state["history"]),
            tf.where(valid, state["count"] + 1.0, state["count"]),
        )

    def threshold(self, state, norm, valid):
        history, count = self._with_norm(state, norm, valid)
        return _unless_zero(
            _math.percentile_of_history(history, count, self.percentile)
        )

    def update(self, state, norm, threshold, valid):
        history, count = self._with_norm(state, norm, valid)
        return {"history": history, "count": count}

    def get_config(self):
        return {"percentile": self.percentile, "history_length": self.history_length}


def _unless_zero(threshold):
    """`threshold`, or `inf` (no clipping) where it is 0: a statistic of
    zero norms would otherwise scale every update to 0."""
    return tf.where(threshold > 0.0, threshold, float("inf"))


ZCLIP_MODES = ("zscore", "percentile")
ZCLIP_CLIP_OPTIONS = ("adaptive_scaling", "mean")


@keras.saving.register_keras_serializable(package="keras_rnncr")
class ZScoreThreshold(ThresholdRule):
    """Clips gradient-norm spikes detected by a z-score (ZClip).

    Kumar, Owen, Chowdhury, Güra, "ZClip: Adaptive Spike Mitigation for LLM
    Pre-Training", arXiv 2504.02507 (2025), with the modes of its reference
    code (github.com/bluorion-com/ZClip). The first `warmup_steps` finite
    norms initialise the mean and (population) variance; during warm-up only
    the optional `max_grad_norm` cap clips. Afterwards, with
    `std = sqrt(var)` and `z = (norm - mean) / (std + epsilon)`:

    ```
    if mode == "zscore" and clip_option == "adaptive_scaling":   # default
        adaptive = mean + z_thresh**2 * std / z  if z > z_thresh  else inf
    if mode == "zscore" and clip_option == "mean":
        adaptive = mean                          if z > z_thresh  else inf
    if mode == "percentile":
        adaptive = mean + z_thresh * std
    threshold = min(adaptive, max_grad_norm)     # max_grad_norm=None: no cap
    x = min(norm, adaptive)                      # the norm after ZClip's clip
    mean = alpha * mean + (1 - alpha) * x
    var = alpha * var + (1 - alpha) * (x - mean) ** 2
    ```

    Note: as in the reference code, the statistics see the norm clipped by
    the adaptive threshold only, not by the `max_grad_norm` cap, and the
    variance update uses the updated mean. Unlike it, a mean norm of 0 (every
    norm so far 0, e.g. a warm-up on frozen weights) gives no adaptive
    clipping: the reference code's threshold is then 0, every later gradient
    is scaled to 0 and the statistics, fed those zeros, never recover. Here
    the first non-zero norm passes unclipped and moves the mean off 0; the
    next norms are then measured against statistics that still remember the
    zeros, so a jump from 0 to a steady norm is clipped for some tens of steps
    (about 35 with the defaults and a constant norm of 1), as ZClip treats any
    spike. The reference code's later `clip_factor` and
    `skip_update_on_spike` options are not implemented.

    Args:
        alpha: Float in (0, 1), EMA smoothing factor. Defaults to 0.97.
        z_thresh: Float > 0: in `"zscore"` mode the z-score above which a
            step is clipped, in `"percentile"` mode the number of standard
            deviations above the mean where clipping starts (2.5 is about the
            99.4th percentile of a normal distribution). Defaults to 2.5.
        warmup_steps: Int >= 1. Defaults to 25.
        epsilon: Float > 0 added to the standard deviation. Defaults to 1e-6.
        mode: `"zscore"` (default) or `"percentile"`.
        clip_option: `"adaptive_scaling"` (default) or `"mean"`; used in
            `"zscore"` mode only.
        max_grad_norm: Float > 0 or `None` (default): a fixed cap on the
            threshold, in force from the first step.

    Example:

    ```python
    optimizer = ClippedOptimizer(
        keras.optimizers.Adam(1e-3),
        threshold=ZScoreThreshold(z_thresh=2.5, max_grad_norm=1.0),
    )
    ```
    """

    def __init__(
        self,
        alpha=0.97,
        z_thresh=2.5,
        warmup_steps=25,
        epsilon=1e-6,
        mode="zscore",
        clip_option="adaptive_scaling",
        max_grad_norm=None,
    ):
        alpha = _validation.check_float_in_range("alpha", alpha, 0, 1)
        z_thresh = _validation.check_positive_float("z_thresh", z_thresh)
        warmup_steps = _validation.check_positive_int("warmup_steps", warmup_steps)
        epsilon = _validation.check_positive_float("epsilon", epsilon)
        max_grad_norm = _validation.check_positive_float(
            "max_grad_norm", max_grad_norm, allow_none=True
        )
        if mode not in ZCLIP_MODES:
            raise ValueError(
                f"Argument `mode` must be one of {ZCLIP_MODES}. Received: mode={mode!r}"
            )
        if clip_option not in ZCLIP_CLIP_OPTIONS:
            raise ValueError(
                f"Argument `clip_option` must be one of {ZCLIP_CLIP_OPTIONS}. "
                f"Received: clip_option={clip_option!r}"
            )
        self.alpha = alpha
        self.z_thresh = z_thresh
        self.warmup_steps = warmup_steps
        self.epsilon = epsilon
        self.mode = mode
        self.clip_option = clip_option
        self.max_grad_norm = max_grad_norm

    def state_spec(self):
        # During warm-up `variance` holds Welford's sum of squared deviations.
        return {
            "mean": ((), "float32"),
            "variance": ((), "float32"),
            "count": ((), "float64"),
        }

    def _warm(self, state):
        return state["count"] >= self.warmup_steps

    def _adaptive(self, state, norm):
        return _math.zclip_threshold(
            state["mean"],
            state["variance"],
            norm,
            self.z_thresh,
            self.epsilon,
            self.mode,
            self.clip_option,
        )

    def threshold(self, state, norm, valid):
        value = tf.where(self._warm(state), self._adaptive(state, norm), float("inf"))
        if self.max_grad_norm is not None:
            value = tf.minimum(value, self.max_grad_norm)
        return value

    def update(self, state, norm, threshold, valid):
        norm = tf.where(valid, norm, 0.0)
        # Warm-up: accumulate, then turn the sum of squares into a variance.
        mean_w, m2_w, count_w = _math.welford_update(
            state["mean"], state["variance"], state["count"], norm
        )
        var_w = tf.where(
            count_w >= self.warmup_steps, m2_w / tf.cast(count_w, m2_w.dtype), m2_w
        )
        # After warm-up: EMA of the norm clipped by the adaptive threshold.
        mean_e, var_e = _math.ema_moments_update(
            state["mean"],
            state["variance"],
            tf.minimum(norm, self._adaptive(state, norm)),
            self.alpha,
        )
        warm = self._warm(state)
        new = {
            "mean": tf.where(warm, mean_e, mean_w),
            "variance": tf.where(warm, var_e, var_w),
            "count": tf.where(warm, state["count"] + 1.0, count_w),
        }
        return {k: tf.where(valid, v, state[k]) for k, v in new.items()}

    def get_config(self):
        return {
            "alpha": self.alpha,
            "z_thresh": self.z_thresh,
            "warmup_steps": self.warmup_steps,
            "epsilon": self.epsilon,
            "mode": self.mode,
            "clip_option": self.clip_option,
            "max_grad_norm": self.max_grad_norm,
        }


_ALIASES = {
    "average": AverageNormThreshold,
    "percentile": PercentileThreshold,
    "autoclip": PercentileThreshold,
    "zscore": ZScoreThreshold,
    "zclip": ZScoreThreshold,
}


def get(identifier):
    """Returns a `ThresholdRule` from an instance, a config dict or a name.

    A config dict is one from `keras.saving.serialize_keras_object(rule)`; one
    that does not give a `ThresholdRule` is refused here, not at the first step.
    Names: `"average"` (the paper's heuristic), `"percentile"`/`"autoclip"`,
    `"zscore"`/`"zclip"`, each with default arguments.
    """
    rule = identifier
    if isinstance(identifier, str) and identifier.lower() in _ALIASES:
        rule = _ALIASES[identifier.lower()]()
    elif isinstance(identifier, dict) and identifier:
        try:
            rule = keras.saving.deserialize_keras_object(identifier)
        except (TypeError, ValueError) as error:
            raise ValueError(
                "Argument `threshold` is a config dict that does not give a "
                f"`ThresholdRule` ({error}). Received: threshold={identifier!r}"
            ) from error
    if isinstance(rule, ThresholdRule):
        return rule
    raise ValueError(
        "Argument `threshold` must be a positive float, a `ThresholdRule` (or its "
        f"serialized config) or one of {sorted(_ALIASES)}. "
        f"Received: threshold={identifier!r}"
    )
