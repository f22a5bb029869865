"""Pure tensor functions for gradient clipping: one home for each piece of maths."""

import numpy as np
import tensorflow as tf


def _values(gradient):
    """Returns the dense values of a gradient (the `values` of `IndexedSlices`)."""
    if isinstance(gradient, tf.IndexedSlices):
        return gradient.values
    return gradient


def merged_rows(gradient, dtype=None):
    """The gradient as a dense tensor, an `IndexedSlices`' repeated rows summed.

    An `IndexedSlices` gradient (an `Embedding`'s, say) holds one row per
    lookup, so a row looked up twice appears twice; the gradient is their sum,
    and its norm and elements are those of the sum, not of the rows apart.
    The sum is taken into a dense tensor of the variable's shape (transient
    for the norm; the update of `clip_by_global_norm` stays sparse).
    """
    if isinstance(gradient, tf.IndexedSlices):
        values = gradient.values if dtype is None else tf.cast(gradient.values, dtype)
        return tf.math.unsorted_segment_sum(
            values, gradient.indices, gradient.dense_shape[0]
        )
    return gradient if dtype is None else tf.cast(gradient, dtype)


def map_values(gradient, fn):
    """Applies `fn` to the values of a dense or `IndexedSlices` gradient."""
    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(
            fn(gradient.values), gradient.indices, gradient.dense_shape
        )
    return fn(gradient)


def deduplicated(gradient):
    """An `IndexedSlices` gradient with each row once (repeated rows summed);
    a dense gradient as it is."""
    if not isinstance(gradient, tf.IndexedSlices):
        return gradient
    rows, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(gradient.values, positions, tf.shape(rows)[0])
    return tf.IndexedSlices(values, rows, gradient.dense_shape)


def global_norm(gradients):
    """L2 norm of all gradients concatenated, in float32 (float64 if any is).

    ```
    norm = sqrt(sum_i sum(g_i ** 2))
    ```

    Float16/bfloat16/float32 gradients are summed in float32; a float64
    gradient makes the sum float64, so that float64 training is clipped with
    a float64 scale.

    Args:
        gradients: List of tensors or `tf.IndexedSlices` (no `None`); the
            repeated rows of an `IndexedSlices` are summed first
            (`merged_rows`).

    When the sum of squares overflows (a float32 norm above about 1.8e19, a
    float64 one above 1.3e154) while every element is finite, the norm is
    taken again with the gradients divided by their largest magnitude, so
    that a finite gradient has a finite norm up to the dtype's largest value.

    Returns:
        A float32 (or float64) scalar. NaN or inf if any gradient is
        non-finite (inf also if the norm itself is beyond the dtype's range).
    """
    dtype = tf.float32
    if any(_values(g).dtype == tf.float64 for g in gradients):
        dtype = tf.float64
    dense = [merged_rows(g, dtype) for g in gradients]
    if not dense:
        return tf.constant(0.0, dtype)
    norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in dense]))
    # Without a branch (a `tf.cond` cannot be vectorised and compiled, as
    # `MultiRunTrainer` does): the rescaled norm is formed always and chosen
    # where the plain one overflowed and every element is finite.
    largest = tf.reduce_max(tf.stack([tf.reduce_max(tf.abs(g)) for g in dense]))
    safe = tf.where(largest > 0, largest, tf.ones_like(largest))
    rescaled = largest * tf.sqrt(
        tf.add_n([tf.reduce_sum(tf.square(g / safe)) for g in dense])
    )
    overflowed = tf.logical_and(tf.math.is_inf(norm), tf.math.is_finite(largest))
    return tf.where(overflowed, rescaled, norm)


def clip_by_global_norm(gradients, norm, threshold):
    """Rescales `gradients` so that their global norm is at most `threshold`.

    Pascanu, Mikolov & Bengio, ICML 2013, Algorithm 1:

    ```
    if norm > threshold:
        g = g * threshold / norm
    ```

    Unlike `tf.clip_by_global_norm`, a NaN `norm` leaves the gradients as they are
    (the comparison is false), so the caller decides what to do with them.

    Args:
        gradients: List of tensors or `tf.IndexedSlices`.
        norm: Float scalar, the global norm of `gradients`.
        threshold: Float scalar of `norm`'s dtype, may be `inf` (no clipping).

    Returns:
        `(clipped_gradients, clipped)` where `clipped` is a boolean scalar.
    """
    clipped = norm > threshold
    scale = tf.where(clipped, threshold / norm, tf.ones_like(norm))
    return [map_values(g, lambda v: _scaled(v, scale)) for g in gradients], clipped


def _scaled(values, scale):
    """`values * scale` in `values`' dtype, the product formed in float32 at
    least: a half-precision scale rounds to 0 below about 6e-8 (a norm 1.7e7
    times the threshold) and loses digits above, where the product itself is
    representable."""
    if values.dtype in (tf.float16, tf.bfloat16):
        wide = tf.cast(values, scale.dtype) * scale
        return tf.cast(wide, values.dtype)
    return values * tf.cast(scale, values.dtype)


def clip_elementwise(gradients, threshold):
    """Clips every gradient element to `[-threshold, threshold]` (Mikolov, 2012).

    An `IndexedSlices` gradient's repeated rows are summed first, and it is
    returned dense (`merged_rows`): clipping the rows apart would let their
    sum pass the threshold.

    Returns:
        `(clipped_gradients, clipped)` where `clipped` is true if any element
        was changed.
    """
    clipped = []
    changed = []
    for g in gradients:
        values = merged_rows(g)
        bound = tf.cast(threshold, values.dtype)
        changed.append(tf.reduce_any(tf.abs(values) > bound))
        clipped.append(tf.clip_by_value(values, -bound, bound))
    if not changed:
        return clipped, tf.constant(False)
    return clipped, tf.reduce_any(tf.stack(changed))


def clamp_to_float32(norm):
    """A finite `norm` above float32's largest value becomes that value (NaN
    and inf stay); a float32 `norm` is returned as it is."""
    if norm.dtype == tf.float32:
        return norm
    largest = tf.constant(np.finfo(np.float32).max, norm.dtype)
    return tf.where(tf.math.is_finite(norm), tf.minimum(norm, largest), norm)


def is_nonfinite(norm, max_finite_norm=None):
    """True if `norm` is NaN, infinite, negative, or above `max_finite_norm`.

    This is the guard of the released code (RNN.py), which treats norms above
    `1e10` like NaN. (Every comparison with NaN is false.)
    """
    in_range = tf.logical_and(norm >= 0.0, tf.math.is_finite(norm))
    if max_finite_norm is not None:
        # In `norm`'s dtype: a bound beyond float32's range is inf there, and
        # the finiteness test above still holds.
        in_range = tf.logical_and(in_range, norm <= max_finite_norm)
    return tf.logical_not(in_range)


def shrink_gradients(gradients, variables, shrink_factor):
    """The released code's answer to a non-finite gradient.

    Recurrent kernels (variables whose path or name contains
    `"recurrent_kernel"`) get the gradient `shrink_factor * W`, every other
    variable gets zero, so an SGD step shrinks the recurrent weights:
    `W <- (1 - lr * shrink_factor) * W`.
    """
    shrunk = []
    for g, v in zip(gradients, variables, strict=True):
        if is_recurrent_kernel(v):
            shrunk.append(shrink_factor * tf.cast(tf.convert_to_tensor(v), g.dtype))
        else:
            shrunk.append(map_values(g, tf.zeros_like))
    return shrunk


def is_recurrent_kernel(variable):
    """True if the variable's path (or name) contains `"recurrent_kernel"`."""
    path = getattr(variable, "path", None) or getattr(variable, "name", "")
    return "recurrent_kernel" in path


def select(pred, if_true, if_false):
    """Elementwise `tf.where` over two lists of gradients with a scalar `pred`."""
    return [
        map_values(b, lambda v, a=a: tf.where(pred, _values(a), v))
        if isinstance(b, tf.IndexedSlices) and isinstance(a, tf.IndexedSlices)
        else tf.where(pred, tf.convert_to_tensor(a), tf.convert_to_tensor(b))
        for a, b in zip(if_true, if_false, strict=True)
    ]


# Adaptive thresholds. Each rule is a pair of pure functions of its state:
# one gives the threshold in force, the other the next state.


def average_norm_threshold(mean, count, multiplier, warmup_steps):
    """Pascanu et al.'s heuristic: a multiple of the average norm seen so far.

    ```
    threshold = multiplier * mean if count >= warmup_steps else inf
    ```
    """
    return tf.where(
        count >= warmup_steps,
        multiplier * mean,
        tf.constant(float("inf"), mean.dtype),
    )


def running_mean_update(mean, count, value):
    """Returns `(mean, count)` after adding `value` to a running average.

    `count` may be of a wider dtype than `mean` (a float64 step count).
    """
    count = count + 1.0
    return mean + (value - mean) / tf.cast(count, mean.dtype), count


def ring_buffer_insert(history, count, value):
    """Writes `value` at position `count % len(history)`; returns the buffer."""
    count = tf.convert_to_tensor(count)
    size = tf.shape(history)[0]
    index = tf.cast(tf.math.floormod(count, tf.cast(size, count.dtype)), tf.int32)
    return tf.tensor_scatter_nd_update(history, [[index]], [value])


def percentile_of_history(history, count, percentile):
    """Percentile of the valid entries of a ring buffer (AutoClip).

    Uses linear interpolation between closest ranks, like `numpy.percentile`'s
    default. The valid entries are the first `min(count, len(history))`.
    Returns `inf` when the buffer is empty.
    """
    count = tf.convert_to_tensor(count)
    size = tf.shape(history)[0]
    valid = tf.cast(tf.minimum(count, tf.cast(size, count.dtype)), tf.int32)
    positions = tf.range(size)
    padded = tf.where(positions < valid, history, float("inf"))
    ordered = tf.sort(padded)
    rank = percentile / 100.0 * tf.cast(tf.maximum(valid - 1, 0), history.dtype)
    low = tf.cast(tf.floor(rank), tf.int32)
    high = tf.minimum(low + 1, tf.maximum(valid - 1, 0))
    low_value = tf.gather(ordered, low)
    high_value = tf.gather(ordered, high)
    weight = rank - tf.floor(rank)
    value = low_value + weight * (high_value - low_value)
    value = tf.where(weight > 0.0, value, low_value)
    return tf.where(valid > 0, value, float("inf"))


def zclip_threshold(mean, variance, norm, z_thresh, epsilon, mode, clip_option):
    """ZClip's threshold (Kumar et al., 2025, arXiv 2504.02507); `inf` if none.

    ```
    std = sqrt(variance)
    if mode == "percentile":   # norms above mean + z_thresh * std are clipped
        threshold = mean + z_thresh * std
    else:                      # mode == "zscore": only spikes are clipped
        z = (norm - mean) / (std + epsilon)
        if z > z_thresh and clip_option == "adaptive_scaling":
            threshold = mean + z_thresh * std / (z / z_thresh)
        elif z > z_thresh and clip_option == "mean":
            threshold = mean
        else:
            threshold = inf
    ```

    Whenever `norm > threshold`, `threshold < norm`, so `min(norm, threshold)`
    is the norm after clipping in every mode. With `mean <= 0` (every norm so
    far 0) there is no scale to clip to, and the threshold is `inf`.
    """
    std = tf.sqrt(variance)
    scale = mean > 0.0
    if mode == "percentile":
        return tf.where(scale, mean + z_thresh * std, float("inf"))
    z = (norm - mean) / (std + epsilon)
    spike = tf.logical_and(z > z_thresh, scale)
    if clip_option == "mean":
        value = mean
    else:
        safe_z = tf.where(spike, z, tf.ones_like(z))
        value = mean + z_thresh * z_thresh * std / safe_z
    return tf.where(spike, value, float("inf"))


def ema_moments_update(mean, variance, value, alpha):
    """ZClip's exponential moving mean and variance of the norm.

    ```
    mean = alpha * mean + (1 - alpha) * value
    variance = alpha * variance + (1 - alpha) * (value - mean) ** 2
    ```
    (the variance uses the updated mean, as in the reference code).
    """
    mean = alpha * mean + (1.0 - alpha) * value
    variance = alpha * variance + (1.0 - alpha) * tf.square(value - mean)
    return mean, variance


def welford_update(mean, m2, count, value):
    """Welford's running mean and sum of squared deviations; returns all three."""
    count = count + 1.0
    delta = value - mean
    mean = mean + delta / tf.cast(count, mean.dtype)
    m2 = m2 + delta * (value - mean)
    return mean, m2, count
