"""Argument checks of the synthetic tasks: sequence lengths and `tf.data` knobs.

The number rules themselves are the package's (`keras_rnncr._validation`);
`check_positive_int` and `check_seed` are those, named here for the task
modules.
"""

import tensorflow as tf

from keras_rnncr._validation import check_positive_int as check_positive_int
from keras_rnncr._validation import check_seed as check_seed
from keras_rnncr._validation import is_integer


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
    if prefetch_buffer_size != tf.data.AUTOTUNE and not (
        is_integer(prefetch_buffer_size) and prefetch_buffer_size >= 0
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
