"""Addition and multiplication tasks: combine two marked real values."""

import numpy as np
import tensorflow as tf

from keras_rnncr.tasks import _validation
from keras_rnncr.tasks._dataset import task_dataset

NUM_CHANNELS = 2
MINIMUM_LENGTH = 10


def generated_steps(length, rng):
    """The released code's sequence length for base length `length`.

    ```python
    steps = length + randint(int(0.1 * length))
    ```
    """
    return length + int(np.random.default_rng(rng).integers(int(length * 0.1)))


def _marked_pair_batch(length, batch_size, rng, combine, task_label, steps=None):
    """Shared generator: marker channel 0, U[0, 1) values on channel 1."""
    _validation.check_length(length, MINIMUM_LENGTH, task_label)
    _validation.check_positive_int("batch_size", batch_size)
    rng = np.random.default_rng(rng)
    if steps is None:
        steps = generated_steps(length, rng)
    elif not length <= steps < length + int(length * 0.1):
        raise ValueError(
            "Argument `steps` must be in [length, length + int(0.1 * length)). "
            f"Received: steps={steps!r}, length={length!r}"
        )
    rows = np.arange(batch_size)
    first = rng.integers(int(steps * 0.1), size=batch_size)
    second = rng.integers(int(steps * 0.4), size=batch_size) + int(steps * 0.1)
    inputs = np.zeros((batch_size, steps, NUM_CHANNELS), dtype=np.float32)
    inputs[:, :, 1] = rng.random((batch_size, steps), dtype=np.float32)
    inputs[rows, first, 0] = 1.0
    inputs[rows, second, 0] = 1.0
    targets = combine(inputs[rows, first, 1], inputs[rows, second, 1])
    return inputs, targets.astype(np.float32).reshape(batch_size, 1)


def addition_batch(length, batch_size, rng=None, steps=None):
    """Generates one batch of the addition task as numpy arrays.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1, following the released code
    (github.com/pascanur/trainingRNNs, `addition.py`). The generated sequence
    has `steps = length + randint(int(0.1 * length))` steps, so up to 10%
    more than `length`. Channel 0 is a marker, 1 at two steps and 0
    elsewhere; channel 1 holds values `U[0, 1)`. With `a` the value at the
    first marker, in `[0, int(0.1 * steps))`, and `b` the value at the second,
    in `[int(0.1 * steps), int(0.1 * steps) + int(0.4 * steps))`:

    ```python
    target = (a + b) / 2
    ```

    Note: this is the paper's variant, not Hochreiter & Schmidhuber's
    (values in [-1, 1], target 0.5 + (a + b) / 4).

    Args:
        length: int, base number of time steps, at least 10.
        batch_size: int, number of sequences.
        rng: `numpy.random.Generator`, int seed or None.
        steps: int or None, the generated number of steps; None draws it
            from `rng` with `generated_steps`.

    Returns:
        `(inputs, targets)`: float32 `(batch_size, steps, 2)` and float32
        `(batch_size, 1)`.

    Example:

    >>> inputs, targets = addition_batch(100, 3, rng=0)
    >>> 100 <= inputs.shape[1] < 110, targets.shape
    (True, (3, 1))
    """
    return _marked_pair_batch(
        length, batch_size, rng, lambda a, b: (a + b) / 2, "addition", steps
    )


def multiplication_batch(length, batch_size, rng=None, steps=None):
    """Generates one batch of the multiplication task as numpy arrays.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1, following the released code
    (github.com/pascanur/trainingRNNs, `multiplication.py`). Same inputs as
    `addition_batch`; the target is the product `a * b` of the two marked
    values.

    Args:
        length: int, base number of time steps, at least 10.
        batch_size: int, number of sequences.
        rng: `numpy.random.Generator`, int seed or None.
        steps: int or None, the generated number of steps; None draws it
            from `rng` with `generated_steps`.

    Returns:
        `(inputs, targets)`: float32 `(batch_size, steps, 2)` and float32
        `(batch_size, 1)`, with `length <= steps < 1.1 * length`.
    """
    return _marked_pair_batch(
        length, batch_size, rng, lambda a, b: a * b, "multiplication", steps
    )


def addition(
    min_length=50,
    max_length=200,
    batch_size=20,
    seed=None,
    num_parallel_calls=1,
    prefetch_buffer_size=tf.data.AUTOTUNE,
):
    """Endless `tf.data.Dataset` of addition batches.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1. Each batch draws one base
    length with `sample_length` (uniform over `[min_length, max_length - 1]`)
    and calls `addition_batch`, which adds up to 10% more steps.

    Args:
        min_length: int, shortest base length, at least 10. Defaults to 50.
        max_length: int, exclusive upper bound of the base length (unless
            equal to `min_length`). Defaults to 200.
        batch_size: int, sequences per batch. Defaults to 20.
        seed: int or None. The same seed gives the same stream of batches.
        num_parallel_calls: int or `tf.data.AUTOTUNE`. Defaults to 1.
        prefetch_buffer_size: int or `tf.data.AUTOTUNE`. Defaults to
            `tf.data.AUTOTUNE`.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)`: float32
        `(batch_size, time, 2)` and float32 `(batch_size, 1)`.
    """
    return _arithmetic_dataset(
        addition_batch,
        "addition",
        min_length=min_length,
        max_length=max_length,
        batch_size=batch_size,
        seed=seed,
        num_parallel_calls=num_parallel_calls,
        prefetch_buffer_size=prefetch_buffer_size,
    )


def multiplication(
    min_length=50,
    max_length=200,
    batch_size=20,
    seed=None,
    num_parallel_calls=1,
    prefetch_buffer_size=tf.data.AUTOTUNE,
):
    """Endless `tf.data.Dataset` of multiplication batches.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1. As `addition`, with batches
    from `multiplication_batch`.

    Args:
        min_length: int, shortest base length, at least 10. Defaults to 50.
        max_length: int, exclusive upper bound of the base length (unless
            equal to `min_length`). Defaults to 200.
        batch_size: int, sequences per batch. Defaults to 20.
        seed: int or None. The same seed gives the same stream of batches.
        num_parallel_calls: int or `tf.data.AUTOTUNE`. Defaults to 1.
        prefetch_buffer_size: int or `tf.data.AUTOTUNE`. Defaults to
            `tf.data.AUTOTUNE`.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)`: float32
        `(batch_size, time, 2)` and float32 `(batch_size, 1)`.
    """
    return _arithmetic_dataset(
        multiplication_batch,
        "multiplication",
        min_length=min_length,
        max_length=max_length,
        batch_size=batch_size,
        seed=seed,
        num_parallel_calls=num_parallel_calls,
        prefetch_buffer_size=prefetch_buffer_size,
    )


def _arithmetic_dataset(batch_fn, task_label, **arguments):
    return task_dataset(
        batch_fn,
        **arguments,
        input_channels=NUM_CHANNELS,
        target_spec=tf.TensorSpec((None, 1), tf.float32),
        minimum_length=MINIMUM_LENGTH,
        task_label=task_label,
    )
