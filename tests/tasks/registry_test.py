"""Tests for the task registry and the `generate_batch` dispatcher."""

import numpy as np
import pytest

from keras_rnncr import tasks


def test_all_paper_tasks_are_registered():
    assert set(tasks.TASKS) == {
        "temporal_order",
        "temporal_order_3bit",
        "addition",
        "multiplication",
        "permutation",
        "memorization",
    }


@pytest.mark.parametrize("name", sorted(tasks.TASKS))
def test_generate_batch_dispatches_to_the_task_generator(name):
    spec = tasks.get_task(name)
    expected = spec.batch_fn(30, 3, np.random.default_rng(4))
    actual = tasks.generate_batch(name, 30, 3, np.random.default_rng(4))
    for a, b in zip(expected, actual, strict=True):
        np.testing.assert_array_equal(a, b)


def test_error_metric_follows_output_head():
    assert isinstance(tasks.get_task("addition").error_metric(), tasks.SquaredErrorRate)
    assert isinstance(
        tasks.get_task("memorization").error_metric(), tasks.SequenceErrorRate
    )


def test_unknown_task_message():
    with pytest.raises(ValueError, match=r"Argument `task` must be one of .*"):
        tasks.get_task("adding")
    with pytest.raises(ValueError, match=r"Received: task='adding'"):
        tasks.generate_batch("adding", 10, 2)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"n_values": 0}, r"`n_values` must be a positive integer"),
        ({"n_positions": 1.5}, r"`n_positions` must be a positive integer"),
        ({"n_vals": 3}, r"\['n_values', 'n_positions'\].*n_vals"),
        ([("n_values", 3)], r"must be a dict or None"),
    ],
)
def test_check_options_checks_names_and_values(options, match):
    with pytest.raises(ValueError, match=match):
        tasks.get_task("memorization").check_options(options)


def test_check_options_returns_good_options_unchanged():
    spec = tasks.get_task("memorization")
    assert spec.check_options({"n_values": 3}) == {"n_values": 3}
    assert spec.check_options(None) == {}
    assert tasks.get_task("addition").check_options(None) == {}
