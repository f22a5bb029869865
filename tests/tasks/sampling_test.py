"""Tests for the released code's length-sampling rule."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from keras_rnncr.tasks import sample_length


@given(st.integers(1, 500), st.integers(0, 300), st.integers(0, 2**32 - 1))
def test_length_is_in_min_to_max_minus_one(min_length, extra, seed):
    max_length = min_length + extra
    length = sample_length(min_length, max_length, np.random.default_rng(seed))
    if extra == 0:
        assert length == min_length
    else:
        assert min_length <= length <= max_length - 1


def test_distribution_is_uniform_over_the_range():
    rng = np.random.default_rng(0)
    draws = np.array([sample_length(50, 200, rng) for _ in range(30000)])
    assert draws.min() == 50 and draws.max() == 199
    counts = np.bincount(draws - 50, minlength=150)
    assert counts.min() > 120 and counts.max() < 290  # mean 200 per length
    assert abs(draws.mean() - 124.5) < 1.0


def test_returns_python_ints_and_checks_its_arguments():
    import pytest

    value = sample_length(np.int64(50), 60, np.random.default_rng(0))
    assert type(value) is int
    with pytest.raises(ValueError, match="`max_length` must be greater than or"):
        sample_length(50, 40, 0)
    with pytest.raises(ValueError, match="`min_length` must be a positive integer"):
        sample_length(50.5, 60, 0)
