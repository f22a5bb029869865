"""The Omega regularizer's per-step terms: the one home of its maths."""

import tensorflow as tf

# Pairs (k, b) with ||dE/dh_k||^2 below this bound are left out of Omega, as in
# the released code (RNN.py, `bound = 1e-20`).
VALID_BOUND = 1e-20

RATIOS = ("squared", "norm")


def omega_pair_terms(transported_sq, delta_sq, valid, ratio="squared"):
    """Omega_k for each (step, example) pair and its derivative in ||v_k||^2.

    With `delta = dE/dh_k` (the total derivative from back-propagation through
    time) and `v = delta @ dh_k/dh_{k-1}` (the error transported one step back):

    ```python
    # ratio="squared" (Eq. 10 and the released code):
    r = ||v||^2 / ||delta||^2
    # ratio="norm" (Eq. 9):
    r = ||v|| / ||delta||
    omega = (r - 1) ** 2
    ```

    Pairs that are not `valid` contribute zero to both outputs.

    Args:
        transported_sq: float tensor, `||v||^2` for each pair.
        delta_sq: float32 tensor of the same shape, `||delta||^2`.
        valid: bool tensor of the same shape.
        ratio: `"squared"` or `"norm"`.

    Returns:
        `(omega, d_omega_d_transported_sq)`, both shaped like the inputs.
    """
    safe_den = tf.where(valid, delta_sq, tf.ones_like(delta_sq))
    r = transported_sq / safe_den
    if ratio == "norm":
        r = tf.sqrt(r)
    omega = tf.where(valid, tf.square(r - 1.0), tf.zeros_like(r))
    return omega, omega_slope(transported_sq, delta_sq, valid, ratio)


def omega_slope(transported_sq, delta_sq, valid, ratio="squared"):
    """d(omega)/d(||v||^2) alone, for each pair (see `omega_pair_terms`)."""
    safe_den = tf.where(valid, delta_sq, tf.ones_like(delta_sq))
    if ratio == "squared":
        # Divide twice rather than by safe_den**2, which underflows to zero for
        # valid pairs near the 1e-20 bound (flush-to-zero) and gives -inf.
        slope = 2.0 * (transported_sq / safe_den - 1.0) / safe_den
    else:
        r = tf.sqrt(transported_sq / safe_den)
        root = tf.sqrt(transported_sq) * tf.sqrt(safe_den)  # no underflow
        slope = tf.math.divide_no_nan(r - 1.0, root)
    return tf.where(valid, slope, tf.zeros_like(slope))


def valid_pairs(delta_sq, step_mask=None):
    """Pairs whose error norm passes the bound and whose step is not masked."""
    valid = delta_sq >= VALID_BOUND
    if step_mask is not None:
        valid = tf.logical_and(valid, step_mask)
    return valid


# The entries of `omega_statistics`.
STATISTICS = ("omega", "valid", "counted", "non_finite")


def omega_statistics(omega, valid, counted, norms):
    """The sums Omega is logged and scaled with, one entry per `STATISTICS` name.

    `[sum of omega, valid pairs, counted pairs, pairs with a non-finite norm]`,
    where `norms` are the pairs' `||v||^2` and `||delta||^2`: an overflowed
    backward pass (as `LossScaleOptimizer` skips) has non-finite norms, which
    the bound would otherwise leave out silently as if they were merely small.
    """
    non_finite = tf.logical_not(
        tf.reduce_all([tf.math.is_finite(n) for n in norms], axis=0)
    )
    return tf.stack(
        [
            tf.reduce_sum(omega),
            tf.reduce_sum(tf.cast(valid, omega.dtype)),
            tf.reduce_sum(tf.cast(counted, omega.dtype)),
            tf.reduce_sum(tf.cast(non_finite, omega.dtype)),
        ]
    )
