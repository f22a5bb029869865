"""Argument checks of the synthetic tasks: sequence lengths, seeds and
`tf.data` knobs.

The number rules themselves are the package's (`keras_rnncr._validation`);
`check_positive_int` is that, named here for the task modules.
"""

import tensorflow as tf

from keras_rnncr._validation import check_non_negative_int as check_non_negative_int
from keras_rnncr._validation import check_positive_int as check_positive_int
from keras_rnncr._validation import is_integer

# The data streams key batch i of seed s as `numpy.random.default_rng([s, i])`
# (NumPy reads a seed as 32-bit words, so [2**32, 0] would be [0, 1]); the
# evaluation sequences of seed s take `SeedSequence(s, spawn_key=(1,))`.
SEED_LIMIT = 2**32
EVALUATION_STREAM = 1


def check_seed(seed, name="seed", allow_none=True):
    """`seed` as a Python int below 2**32, or None (if `allow_none`)."""
    seed = check_non_negative_int(name, seed, allow_none=allow_none)
    if seed is not None and seed >= SEED_LIMIT:
        raise ValueError(
            f"Argument `{name}` must be a non-negative integer below 2**32"
            + (" or None" if allow_none else "")
            + " (the task streams key their batches by `[seed, batch index]`, "
            f"read as 32-bit words). Received: {name}={seed!r}"
        )
    return seed


def check_length(length, minimum, task_label):
    """Checks one sequence length `length` against the task's `minimum`."""
    check_positive_int("length", length)
    if length < minimum:
        raise ValueError(_too_short("length", length, minimum, task_label))


def check_length_order(min_length, max_length):
    """`(min_length, max_length)` as Python ints, if both are positive and
    `max_length >= min_length`."""
    min_length = check_positive_int("min_length", min_length)
    max_length = check_positive_int("max_length", max_length)
    if max_length < min_length:
        raise ValueError(
            "Argument `max_length` must be greater than or equal to `min_length`. "
            f"Received: max_length={max_length!r}, min_length={min_length!r}"
        )
    return min_length, max_length


def check_length_range(min_length, max_length, minimum, task_label):
    """`check_length_order`'s ints, if `min_length` is at least the task's
    `minimum`."""
    min_length, max_length = check_length_order(min_length, max_length)
    if min_length < minimum:
        raise ValueError(_too_short("min_length", min_length, minimum, task_label))
    return min_length, max_length


def check_pipeline(num_parallel_calls, prefetch_buffer_size):
    """`(num_parallel_calls, prefetch_buffer_size)` as Python ints, if the
    first is positive or AUTOTUNE and the second >= 0 or AUTOTUNE."""
    autotune = tf.data.AUTOTUNE
    if not (
        is_integer(num_parallel_calls)
        and (num_parallel_calls > 0 or num_parallel_calls == autotune)
    ):
        raise ValueError(
            "Argument `num_parallel_calls` must be a positive integer or "
            f"`tf.data.AUTOTUNE`. Received: num_parallel_calls={num_parallel_calls!r}"
        )
    if not (
        is_integer(prefetch_buffer_size)
        and (prefetch_buffer_size >= 0 or prefetch_buffer_size == autotune)
    ):
        raise ValueError(
            "Argument `prefetch_buffer_size` must be a non-negative integer or "
            "`tf.data.AUTOTUNE`. "
            f"Received: prefetch_buffer_size={prefetch_buffer_size!r}"
        )
    return int(num_parallel_calls), int(prefetch_buffer_size)


def _too_short(name, value, minimum, task_label):
    return (
        f"Argument `{name}` must be at least {minimum} for the {task_label} task, "
        "whose marker positions are drawn from ranges of int(0.1 * length) steps. "
        f"Received: {name}={value!r}"
    )
