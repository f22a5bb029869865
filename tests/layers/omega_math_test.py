"""Tests for the per-pair Omega terms in keras_rnncr.layers._omega_math."""

import numpy as np
import pytest
import tensorflow as tf

from keras_rnncr.layers import _omega_math


@pytest.mark.parametrize("ratio", _omega_math.RATIOS)
@pytest.mark.parametrize("delta_sq", [5e-20, 1e-19, 1e-3, 1.0, 40.0])
def test_slope_matches_the_derivative_in_float32_near_the_bound(ratio, delta_sq):
    # Pairs just above the 1e-20 bound: delta_sq**2 underflows in float32, which
    # must not turn the slope into -inf (keep_if_finite would then drop all of
    # the batch's Omega gradient).
    transported_sq = np.array([0.8 * delta_sq, 1.3 * delta_sq])
    delta = np.full(2, delta_sq)
    valid = tf.constant([True, True])
    slope = _omega_math.omega_slope(
        tf.constant(transported_sq, tf.float32),
        tf.constant(delta, tf.float32),
        valid,
        ratio,
    ).numpy()
    r = transported_sq / delta
    if ratio == "squared":
        expected = 2.0 * (r - 1.0) / delta
    else:
        expected = (np.sqrt(r) - 1.0) / np.sqrt(transported_sq * delta)
    assert np.all(np.isfinite(slope))
    np.testing.assert_allclose(slope, expected, rtol=1e-5)


def test_invalid_pairs_give_zero_terms():
    omega, slope = _omega_math.omega_pair_terms(
        tf.constant([1.0, 2.0]), tf.constant([1e-21, 1.0]), tf.constant([False, True])
    )
    assert omega.numpy()[0] == 0.0 and slope.numpy()[0] == 0.0
    np.testing.assert_allclose(omega.numpy()[1], 1.0)
    np.testing.assert_allclose(slope.numpy()[1], 2.0)


def test_statistics_count_pairs_with_non_finite_norms():
    # An overflowed backward pass: a NaN ||delta||^2 fails the bound like a small
    # one would, so only the last entry tells the two apart.
    inf, nan = float("inf"), float("nan")
    delta_sq = tf.constant([1.0, nan, 2.0, 1.0])
    transported_sq = tf.constant([1.5, 1.0, inf, 0.5])
    valid = _omega_math.valid_pairs(delta_sq)
    omega, _ = _omega_math.omega_pair_terms(transported_sq, delta_sq, valid)
    statistics = _omega_math.omega_statistics(
        omega, valid, tf.ones_like(valid), [transported_sq, delta_sq]
    )
    named = dict(zip(_omega_math.STATISTICS, statistics.numpy()))
    assert (named["valid"], named["counted"], named["non_finite"]) == (3, 4, 2)
