"""Temporal order tasks (2-bit and 3-bit): classify the order of marked symbols."""

import numpy as np
import tensorflow as tf

from keras_rnncr.tasks import _validation
from keras_rnncr.tasks._dataset import task_dataset
from keras_rnncr.tasks._encoding import one_hot

NUM_SYMBOLS = 6
MINIMUM_LENGTH = 10

# Start of each marker's window, as a fraction of the length (released code).
_TWO_BIT_STARTS = (0.1, 0.5)
_THREE_BIT_STARTS = (0.1, 0.3, 0.6)


def _order_batch(length, batch_size, rng, starts, task_label):
    """Shared generator: one A/B marker per window, distractors elsewhere."""
    _validation.check_length(length, MINIMUM_LENGTH, task_label)
    _validation.check_positive_int("batch_size", batch_size)
    rng = np.random.default_rng(rng)
    span = int(length * 0.1)
    rows = np.arange(batch_size)
    symbols = rng.integers(2, NUM_SYMBOLS, size=(batch_size, length))
    targets = np.zeros(batch_size, dtype=np.int32)
    for bit, start in enumerate(starts):
        positions = rng.integers(span, size=batch_size) + int(length * start)
        values = rng.integers(2, size=batch_size)
        symbols[rows, positions] = values
        targets += (values << bit).astype(np.int32)
    return one_hot(symbols, NUM_SYMBOLS), targets


def temporal_order_batch(length, batch_size, rng=None):
    """Generates one batch of the temporal order task as numpy arrays.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1, following the released code
    (github.com/pascanur/trainingRNNs, `tempOrder.py`). Every step shows one
    of 6 symbols, one-hot: 0 = A, 1 = B, 2-5 = distractors drawn uniformly.
    With `span = int(0.1 * length)`, one A or B (`v0`) sits at a position in
    `[span, 2 * span)` and another (`v1`) in
    `[int(0.5 * length), int(0.5 * length) + span)`. The class is

    ```python
    target = v0 + 2 * v1  # AA=0, BA=1, AB=2, BB=3
    ```

    and is predicted at the last step.

    Note: the released code's docstring gives the first window as
    `[1, L/10]`; its code, followed here, uses `[L/10, 2L/10)`.

    Args:
        length: int, number of time steps, at least 10.
        batch_size: int, number of sequences.
        rng: `numpy.random.Generator`, int seed or None.

    Returns:
        `(inputs, targets)`: float32 `(batch_size, length, 6)` one-hot inputs
        and int32 `(batch_size,)` class ids in `[0, 4)`.

    Example:

    >>> inputs, targets = temporal_order_batch(60, 3, rng=0)
    >>> inputs.shape, targets.shape
    ((3, 60, 6), (3,))
    """
    return _order_batch(length, batch_size, rng, _TWO_BIT_STARTS, "temporal order")


def temporal_order_3bit_batch(length, batch_size, rng=None):
    """Generates one batch of the 3-bit temporal order task as numpy arrays.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1, following the released code
    (github.com/pascanur/trainingRNNs, `tempOrder3bit.py`). As
    `temporal_order_batch`, with three A/B markers `v0, v1, v2` in the windows
    `[int(s * length), int(s * length) + int(0.1 * length))` for
    `s = 0.1, 0.3, 0.6`, and eight classes:

    ```python
    target = v0 + 2 * v1 + 4 * v2
    ```

    Args:
        length: int, number of time steps, at least 10.
        batch_size: int, number of sequences.
        rng: `numpy.random.Generator`, int seed or None.

    Returns:
        `(inputs, targets)`: float32 `(batch_size, length, 6)` one-hot inputs
        and int32 `(batch_size,)` class ids in `[0, 8)`.
    """
    return _order_batch(
        length, batch_size, rng, _THREE_BIT_STARTS, "3-bit temporal order"
    )


def temporal_order(
    min_length=50,
    max_length=200,
    batch_size=20,
    seed=None,
    num_parallel_calls=1,
    prefetch_buffer_size=tf.data.AUTOTUNE,
):
    """Endless `tf.data.Dataset` of temporal order batches.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1 (Figure 7). Each batch draws
    one length as the released code does (`sample_length`: uniform over
    `[min_length, max_length - 1]`, or `min_length` when both are equal)
    and calls `temporal_order_batch`.

    Args:
        min_length: int, shortest sequence, at least 10. Defaults to 50.
        max_length: int, exclusive upper bound of the length (unless equal to
            `min_length`). Defaults to 200.
        batch_size: int, sequences per batch. Defaults to 20.
        seed: int or None. The same seed gives the same stream of batches.
        num_parallel_calls: int or `tf.data.AUTOTUNE`, batches generated in
            parallel; the stream does not depend on it. Defaults to 1.
        prefetch_buffer_size: int or `tf.data.AUTOTUNE`. Defaults to
            `tf.data.AUTOTUNE`.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)`: float32
        `(batch_size, time, 6)` and int32 `(batch_size,)`.

    Example:

    >>> dataset = temporal_order(batch_size=4, seed=1)
    >>> inputs, targets = next(iter(dataset))
    >>> tuple(targets.shape)
    (4,)
    """
    return task_dataset(
        temporal_order_batch,
        min_length=min_length,
        max_length=max_length,
        batch_size=batch_size,
        seed=seed,
        num_parallel_calls=num_parallel_calls,
        prefetch_buffer_size=prefetch_buffer_size,
        input_channels=NUM_SYMBOLS,
        target_spec=tf.TensorSpec((None,), tf.int32),
        minimum_length=MINIMUM_LENGTH,
        task_label="temporal order",
    )


def temporal_order_3bit(
    min_length=50,
    max_length=200,
    batch_size=20,
    seed=None,
    num_parallel_calls=1,
    prefetch_buffer_size=tf.data.AUTOTUNE,
):
    """Endless `tf.data.Dataset` of 3-bit temporal order batches.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1. As `temporal_order`, with
    batches from `temporal_order_3bit_batch` (eight classes).

    Args:
        min_length: int, shortest sequence, at least 10. Defaults to 50.
        max_length: int, exclusive upper bound of the length (unless equal to
            `min_length`). Defaults to 200.
        batch_size: int, sequences per batch. Defaults to 20.
        seed: int or None. The same seed gives the same stream of batches.
        num_parallel_calls: int or `tf.data.AUTOTUNE`. Defaults to 1.
        prefetch_buffer_size: int or `tf.data.AUTOTUNE`. Defaults to
            `tf.data.AUTOTUNE`.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)`: float32
        `(batch_size, time, 6)` and int32 `(batch_size,)`.
    """
    return task_dataset(
        temporal_order_3bit_batch,
        min_length=min_length,
        max_length=max_length,
        batch_size=batch_size,
        seed=seed,
        num_parallel_calls=num_parallel_calls,
        prefetch_buffer_size=prefetch_buffer_size,
        input_channels=NUM_SYMBOLS,
        target_spec=tf.TensorSpec((None,), tf.int32),
        minimum_length=MINIMUM_LENGTH,
        task_label="3-bit temporal order",
    )
