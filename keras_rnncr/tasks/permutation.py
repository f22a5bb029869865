"""Random permutation task: recall the first symbol at the end of the sequence."""

import numpy as np
import tensorflow as tf

from keras_rnncr.tasks import _validation
from keras_rnncr.tasks._dataset import task_dataset
from keras_rnncr.tasks._encoding import one_hot

NUM_SYMBOLS = 100


def permutation_batch(length, batch_size, rng=None):
    """Generates one batch of the random permutation task as numpy arrays.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1, following the released code
    (github.com/pascanur/trainingRNNs, `permutation.py`). Every step shows one
    of 100 symbols, one-hot. The first symbol is 0 or 1; the others are drawn
    uniformly from `{2, ..., 99}`. At the last step the model predicts the
    next symbol, which the code sets equal to the first one:

    ```python
    target = symbols[:, 0]  # in {0, 1}, classified over 100 classes
    ```

    Note: the released code also builds per-step next-symbol targets but
    leaves them commented out; only the last-step target is used, as here.

    Args:
        length: int, number of time steps.
        batch_size: int, number of sequences.
        rng: `numpy.random.Generator`, int seed or None.

    Returns:
        `(inputs, targets)`: float32 `(batch_size, length, 100)` one-hot
        inputs and int32 `(batch_size,)` class ids.

    Example:

    >>> inputs, targets = permutation_batch(20, 3, rng=0)
    >>> bool((inputs[:, 0].argmax(-1) == targets).all())
    True
    """
    _validation.check_length(length, 1, "permutation")
    _validation.check_positive_int("batch_size", batch_size)
    rng = np.random.default_rng(rng)
    symbols = rng.integers(2, NUM_SYMBOLS, size=(batch_size, length))
    first = rng.integers(2, size=batch_size)
    symbols[:, 0] = first
    return one_hot(symbols, NUM_SYMBOLS), first.astype(np.int32)


def permutation(
    min_length=50,
    max_length=200,
    batch_size=20,
    seed=None,
    num_parallel_calls=1,
    prefetch_buffer_size=tf.data.AUTOTUNE,
):
    """Endless `tf.data.Dataset` of random permutation batches.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1. Each batch draws one length
    with `sample_length` (uniform over `[min_length, max_length - 1]`) and
    calls `permutation_batch`.

    Args:
        min_length: int, shortest sequence. Defaults to 50.
        max_length: int, exclusive upper bound of the length (unless equal to
            `min_length`). Defaults to 200.
        batch_size: int, sequences per batch. Defaults to 20.
        seed: int or None. The same seed gives the same stream of batches.
        num_parallel_calls: int or `tf.data.AUTOTUNE`. Defaults to 1.
        prefetch_buffer_size: int or `tf.data.AUTOTUNE`. Defaults to
            `tf.data.AUTOTUNE`.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)`: float32
        `(batch_size, time, 100)` and int32 `(batch_size,)`.
    """
    return task_dataset(
        permutation_batch,
        min_length=min_length,
        max_length=max_length,
        batch_size=batch_size,
        seed=seed,
        num_parallel_calls=num_parallel_calls,
        prefetch_buffer_size=prefetch_buffer_size,
        input_channels=NUM_SYMBOLS,
        target_spec=tf.TensorSpec((None,), tf.int32),
        minimum_length=1,
        task_label="permutation",
    )
