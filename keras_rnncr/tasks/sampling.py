"""Sequence-length sampling rule of the released code, shared by training and tests."""

import numpy as np

from keras_rnncr.tasks._validation import check_length_order


def sample_length(min_length, max_length, rng):
    """Draws one sequence length the way the released code does.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1; released code
    (github.com/pascanur/trainingRNNs, `RNN.py`): every update, and every
    validation chunk, draws

    ```python
    length = min_length + rng.randint(max_length - min_length)
    ```

    so the length is uniform over `[min_length, max_length - 1]`; when
    `min_length == max_length` that single length is used.

    Note: this is the length `L` handed to a task generator. The addition and
    multiplication generators add up to 10% more steps, and memorization adds
    `2 * n_positions` steps, as in the released code.

    Args:
        min_length: int, shortest length.
        max_length: int, exclusive upper bound, unless equal to `min_length`.
        rng: `numpy.random.Generator` (or anything `numpy.random.default_rng`
            accepts, such as an int seed).

    Returns:
        A Python int.

    Example:

    >>> import numpy as np
    >>> sample_length(50, 50, np.random.default_rng(0))
    50
    """
    min_length, max_length = check_length_order(min_length, max_length)
    if max_length > min_length:
        rng = np.random.default_rng(rng)
        return min_length + int(rng.integers(max_length - min_length))
    return min_length
