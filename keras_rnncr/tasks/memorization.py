"""Noiseless memorization task: recall a pattern after a long filler stretch."""

import numpy as np
import tensorflow as tf

from keras_rnncr.tasks import _validation
from keras_rnncr.tasks._dataset import task_dataset
from keras_rnncr.tasks._encoding import one_hot


def memorization_batch(length, batch_size, rng=None, n_values=5, n_positions=10):
    """Generates one batch of the noiseless memorization task as numpy arrays.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1, following the released code
    (github.com/pascanur/trainingRNNs, `memorization.py`, `MemTask`). A
    pattern of `n_positions` symbols from an alphabet of `n_values` is shown,
    then filler, then a "go" signal, after which the pattern is recalled.
    With `P = n_positions`, the sequence has `length + 2 * P` steps:

    ```
    step:    0 .. P-1 | P .. length+P-1 | length+P | length+P+1 .. length+2P-1
    input:   pattern  | filler          | go       | filler
    target:  blank    | blank           | pattern[0] | pattern[1:]
    ```

    Input channels: `0 .. n_values-1` symbols, `n_values` filler,
    `n_values + 1` go. Target classes: `0 .. n_values-1` symbols, `n_values`
    blank. Targets are given at every step.

    Args:
        length: int, number of filler steps between pattern and recall.
        batch_size: int, number of sequences.
        rng: `numpy.random.Generator`, int seed or None.
        n_values: int, alphabet size. Defaults to 5.
        n_positions: int, pattern length. Defaults to 10.

    Returns:
        `(inputs, targets)`: float32 `(batch_size, length + 2 * n_positions,
        n_values + 2)` one-hot inputs and int32
        `(batch_size, length + 2 * n_positions)` class ids.

    Example:

    >>> inputs, targets = memorization_batch(5, 2, rng=0, n_positions=3)
    >>> inputs.shape, targets.shape
    ((2, 11, 7), (2, 11))
    """
    _validation.check_length(length, 1, "memorization")
    _validation.check_positive_int("batch_size", batch_size)
    _validation.check_positive_int("n_values", n_values)
    _validation.check_positive_int("n_positions", n_positions)
    rng = np.random.default_rng(rng)
    total = length + 2 * n_positions
    pattern = rng.integers(n_values, size=(batch_size, n_positions))
    symbols = np.full((batch_size, total), n_values)
    symbols[:, :n_positions] = pattern
    symbols[:, length + n_positions] = n_values + 1
    targets = np.full((batch_size, total), n_values, dtype=np.int32)
    targets[:, -n_positions:] = pattern
    return one_hot(symbols, n_values + 2), targets


def memorization(
    min_length=50,
    max_length=200,
    batch_size=20,
    seed=None,
    n_values=5,
    n_positions=10,
    num_parallel_calls=1,
    prefetch_buffer_size=tf.data.AUTOTUNE,
):
    """Endless `tf.data.Dataset` of noiseless memorization batches.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1. Each batch draws one filler
    length with `sample_length` (uniform over `[min_length, max_length - 1]`,
    or `min_length` when both are equal) and calls `memorization_batch`, so
    sequences have `length + 2 * n_positions` steps. The paper trained one
    model per length, i.e. `min_length == max_length`.

    Args:
        min_length: int, shortest filler length. Defaults to 50.
        max_length: int, exclusive upper bound of the filler length (unless
            equal to `min_length`). Defaults to 200.
        batch_size: int, sequences per batch. Defaults to 20.
        seed: int or None. The same seed gives the same stream of batches.
        n_values: int, alphabet size. Defaults to 5.
        n_positions: int, pattern length. Defaults to 10.
        num_parallel_calls: int or `tf.data.AUTOTUNE`. Defaults to 1.
        prefetch_buffer_size: int or `tf.data.AUTOTUNE`. Defaults to
            `tf.data.AUTOTUNE`.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)`: float32
        `(batch_size, time, n_values + 2)` and int32 `(batch_size, time)`.
    """
    _validation.check_positive_int("n_values", n_values)
    _validation.check_positive_int("n_positions", n_positions)
    return task_dataset(
        memorization_batch,
        min_length=min_length,
        max_length=max_length,
        batch_size=batch_size,
        seed=seed,
        num_parallel_calls=num_parallel_calls,
        prefetch_buffer_size=prefetch_buffer_size,
        input_channels=n_values + 2,
        target_spec=tf.TensorSpec((None, None), tf.int32),
        minimum_length=1,
        task_label="memorization",
        batch_kwargs={"n_values": n_values, "n_positions": n_positions},
    )
