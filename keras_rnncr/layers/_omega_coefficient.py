"""Omega's coefficient and statistics, shared by the fused and generic passes.

Both passes sum Omega's per-pair terms (`_omega_math`) over a batch; here those
sums are added over replicas, recorded (unless not finite: an overflowed step),
and turned into the coefficient `alpha * loss_scale / valid pairs` that scales
Omega's summed gradient, the loss scale read from the gradient of the zero probe
the layer adds to the loss.
"""

import tensorflow as tf

from keras_rnncr.layers import _omega_math


def statistics_dtype(dtype):
    """Omega's sums are float32, or float64 for a float64 recurrence."""
    return tf.float64 if tf.as_dtype(dtype) == tf.float64 else tf.float32


def _replica_count_and_sum(stats):
    """Sums `stats` over replicas when running inside a multi-replica step."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 1, stats
    return context.num_replicas_in_sync, context.all_reduce("sum", stats)


def omega_coefficient(alpha, statistics, probe_gradient, tracker):
    """The factor that turns Omega's summed gradient into alpha * dOmega/dW.

    Sums `statistics` (see `_omega_math.omega_statistics`) over replicas,
    records Omega and the valid fraction in `tracker` (unless a pair's norms or
    the sums are not finite: an overflowed step, which `LossScaleOptimizer`
    skips), and returns `alpha * loss_scale / valid_pairs`, where the loss scale
    is read from the gradient of the zero probe that the layer added to the
    loss:
    `d(scaled loss)/d(probe) = loss_scale / replicas` (1/replicas under
    `tf.distribute`, times the dynamic scale under `LossScaleOptimizer`). A loss
    that leaves out the layer's losses gives zero there, read as unscaled.
    """
    replicas, statistics = _replica_count_and_sum(statistics)
    omega_sum, valid, counted, non_finite = tf.unstack(statistics)
    measured = tf.logical_and(counted > 0, non_finite == 0)
    tracker.record(
        tf.cast(tf.math.divide_no_nan(omega_sum, valid), tf.float32),
        tf.cast(tf.math.divide_no_nan(valid, counted), tf.float32),
        tf.logical_and(measured, all_finite(statistics)),
    )
    scaled = _scaled_alpha(alpha, probe_gradient, replicas, statistics.dtype)
    return scaled / tf.maximum(valid, 1.0)


def coefficient_if_all_valid(alpha, counted, probe_gradient, dtype):
    """`omega_coefficient`'s value should all `counted` pairs prove valid."""
    replicas, counted = _replica_count_and_sum(counted)
    scaled = _scaled_alpha(alpha, probe_gradient, replicas, dtype)
    return scaled / tf.maximum(counted, 1.0)


def all_finite(tensor):
    """Whether every entry of `tensor` is finite."""
    return tf.reduce_all(tf.math.is_finite(tensor))


def _scaled_alpha(alpha, probe_gradient, replicas, dtype):
    """`alpha * loss_scale`, the loss scale read from the probe's gradient."""
    loss_scale = tf.cast(probe_gradient, tf.float32) * replicas
    loss_scale = tf.where(loss_scale == 0.0, tf.ones_like(loss_scale), loss_scale)
    return tf.cast(alpha * loss_scale, dtype)


def sequence_omega(
    transported_sq, delta_sq, step_mask, ratio, alpha, probe_gradient, tracker
):
    """Omega's terms over `(time, batch)` pairs: `(coefficient, slope)`.

    Takes `||v||^2` and `||delta||^2` of every pair, leaves out masked steps and
    pairs under the bound, records Omega through `omega_coefficient` and returns
    its coefficient with the per-pair `slope` of `_omega_math.omega_pair_terms`.
    """
    valid = _omega_math.valid_pairs(delta_sq, step_mask)
    omega, slope = _omega_math.omega_pair_terms(transported_sq, delta_sq, valid, ratio)
    counted = tf.ones_like(valid) if step_mask is None else step_mask
    coefficient = omega_coefficient(
        alpha,
        _omega_math.omega_statistics(omega, valid, counted, [transported_sq, delta_sq]),
        probe_gradient,
        tracker,
    )
    return coefficient, slope


def keep_if_finite(omega_gradients, alpha):
    """Zeroes Omega's gradients unless alpha > 0 and all of them are finite."""
    usable = tf.logical_and(
        alpha > 0.0,
        tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in omega_gradients]),
    )
    return [tf.where(usable, g, tf.zeros_like(g)) for g in omega_gradients]
