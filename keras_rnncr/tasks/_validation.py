"""Argument checks shared by the synthetic task generators and their datasets."""

import numbers

import tensorflow as tf


def check_positive_int(name, value):
    """Raises `ValueError` unless `value` is a positive integer (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"Argument `{name}` must be a positive integer. Received: {name}={value!r}"
        )


def check_seed(seed):
    """Raises `ValueError` unless `seed` is None or a non-negative integer."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(
            "Argument `seed` must be a non-negative integer or None. "
            f"Received: seed={seed!r}"
        )


def check_length(length, minimum, task_label):
    """Checks one sequence length `length` against the task's `minimum`."""
    check_positive_int("length", length)
    if length < minimum:
        raise ValueError(_too_short("length", length, minimum, task_label))


def check_length_range(min_length, max_length, minimum, task_label):
    """Checks a `[min_length, max_length]` range against the task's `minimum`."""
    check_positive_int("min_length", min_length)
    check_positive_int("max_length", max_length)
    if max_length < min_length:
        raise ValueError(
            "Argument `max_length` must be greater than or equal to `min_length`. "
            f"Received: max_length={max_length!r}, min_length={min_length!r}"
        )
    if min_length < minimum:
        raise ValueError(_too_short("min_length", min_length, minimum, task_label))


def check_pipeline(num_parallel_calls, prefetch_buffer_size):
    """Checks the `tf.data` knobs: positive or AUTOTUNE, and >= 0 or AUTOTUNE."""
    if num_parallel_calls != tf.data.AUTOTUNE:
        check_positive_int("num_parallel_calls", num_parallel_calls)
    if prefetch_buffer_size != tf.data.AUTOTUNE and (
        isinstance(prefetch_buffer_size, bool)
        or not isinstance(prefetch_buffer_size, numbers.Integral)
        or prefetch_buffer_size < 0
    ):
        raise ValueError(
            "Argument `prefetch_buffer_size` must be a non-negative integer or "
            "`tf.data.AUTOTUNE`. "
            f"Received: prefetch_buffer_size={prefetch_buffer_size!r}"
        )


def _too_short(name, value, minimum, task_label):
    return (
        f"Argument `{name}` must be at least {minimum} for the {task_label} task, "
        "whose marker positions are drawn from ranges of int(0.1 * length) steps. "
        f"Received: {name}={value!r}"
    )
