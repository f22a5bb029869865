"""Property tests for the pure clipping functions in keras_rnncr.optimizers._math."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_rnncr.optimizers import _math

_finite = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False, width=32)
_gradient_lists = st.lists(
    hnp.arrays(np.float32, hnp.array_shapes(max_dims=2, max_side=4), elements=_finite),
    min_size=1,
    max_size=4,
)
_thresholds = st.floats(1e-3, 1e3)


def _clip(grads, threshold):
    tensors = [tf.constant(g) for g in grads]
    norm = _math.global_norm(tensors)
    clipped, was_clipped = _math.clip_by_global_norm(
        tensors, norm, tf.constant(threshold, tf.float32)
    )
    return [c.numpy() for c in clipped], float(norm), bool(was_clipped)


def _norm(grads):
    return float(np.sqrt(sum(np.sum(np.square(g.astype(np.float64))) for g in grads)))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(_gradient_lists, _thresholds)
def test_norm_after_clipping_is_min_of_norm_and_threshold(grads, threshold):
    clipped, norm, was_clipped = _clip(grads, threshold)
    assert norm == pytest.approx(_norm(grads), rel=1e-5, abs=1e-6)
    assert _norm(clipped) == pytest.approx(min(norm, threshold), rel=1e-4, abs=1e-6)
    assert was_clipped == (norm > float(np.float32(threshold)))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(_gradient_lists, _thresholds)
def test_direction_is_preserved(grads, threshold):
    clipped, norm, _ = _clip(grads, threshold)
    flat = np.concatenate([g.ravel() for g in grads]).astype(np.float64)
    flat_clipped = np.concatenate([c.ravel() for c in clipped]).astype(np.float64)
    if norm > 0:
        scale = min(1.0, threshold / norm)
        np.testing.assert_allclose(flat_clipped, scale * flat, rtol=1e-5, atol=1e-6)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(_gradient_lists, _thresholds)
def test_clipping_twice_changes_nothing(grads, threshold):
    once, _, _ = _clip(grads, threshold)
    twice, _, _ = _clip(once, threshold)
    for a, b in zip(once, twice, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(_gradient_lists, _thresholds)
def test_elementwise_bounds_every_element_and_is_idempotent(grads, threshold):
    once, _ = _math.clip_elementwise([tf.constant(g) for g in grads], threshold)
    twice, changed = _math.clip_elementwise(once, threshold)
    for g, a, b in zip(grads, once, twice, strict=True):
        assert np.all(np.abs(a.numpy()) <= np.float32(threshold))
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(a.numpy(), np.clip(g, -threshold, threshold))
    assert not bool(changed)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    hnp.arrays(
        np.float32,
        st.integers(1, 9),
        elements=st.floats(0, 1e3, allow_subnormal=False, width=32),
    ),
    st.floats(1.0, 100.0),
)
def test_percentile_matches_numpy(values, percentile):
    history = tf.constant(np.pad(values, (0, 3)))  # three unused slots
    result = _math.percentile_of_history(history, float(len(values)), percentile)
    expected = np.percentile(values.astype(np.float64), percentile)
    assert float(result) == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_nonfinite_guard():
    for norm, bad in [(1.0, False), (np.nan, True), (np.inf, True), (-1.0, True)]:
        assert bool(_math.is_nonfinite(tf.constant(norm, tf.float32), 1e10)) == bad
    assert bool(_math.is_nonfinite(tf.constant(2e10), 1e10))
    assert not bool(_math.is_nonfinite(tf.constant(2e10), None))


def test_nan_norm_leaves_gradients_unchanged():
    grads = [tf.constant([np.nan, 1.0])]
    clipped, was_clipped = _math.clip_by_global_norm(
        grads, _math.global_norm(grads), tf.constant(1.0)
    )
    assert not bool(was_clipped)
    assert clipped[0].numpy()[1] == 1.0
