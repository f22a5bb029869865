"""The three initialisation schemes of the paper's experiments, by name."""

import keras

from keras_rnncr import _validation
from keras_rnncr.initializers.sparse_spectral import SparseSpectral

# scheme: (activation, stddev of the input, recurrent and output kernels)
PAPER_SCHEMES = {
    "sigmoid": ("sigmoid", 0.01),
    "basic_tanh": ("tanh", 0.1),
    "smart_tanh": ("tanh", 0.01),
}

# The largest seed of `paper_initializers`: its three matrices take the seeds
# 3 * seed .. 3 * seed + 2, and TensorFlow reduces a seed modulo 2**31 - 2.
MAX_SEED = (2**31 - 2 - 3) // 3


def paper_initializers(scheme, seed=None):
    """Returns the initializers and activation of one of the paper's schemes.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1.1 (Figure 7), following the
    released code (github.com/pascanur/trainingRNNs, `RNN.py`, `init`):

    | scheme       | activation | kernel, output kernel | recurrent kernel        |
    |--------------|------------|-----------------------|-------------------------|
    | `sigmoid`    | sigmoid    | N(0, sd 0.01)         | N(0, sd 0.01)           |
    | `basic_tanh` | tanh       | N(0, sd 0.1)          | N(0, sd 0.1)            |
    | `smart_tanh` | tanh       | N(0, sd 0.01)         | `SparseSpectral()`      |

    The paper writes N(0, 0.01) and N(0, 0.1); the code shows these are
    standard deviations. Biases start at zero, which is the Keras default.

    Args:
        scheme: str, one of `"sigmoid"`, `"basic_tanh"`, `"smart_tanh"`.
        seed: int or None. An int gives the kernel, recurrent kernel and
            output kernel the seeds `3 * seed`, `3 * seed + 1` and
            `3 * seed + 2`: no two matrices of any two seeds share a seed
            (Keras's seeded initializers draw the same numbers for the same
            seed whatever the shape, so `seed + k` gave seed 1's kernel the
            first numbers of seed 0's recurrent kernel; seed 0 is unchanged).
            At most `MAX_SEED`: TensorFlow reduces seeds modulo 2**31 - 2, so
            a larger one would give the weights of a smaller one.

    Returns:
        A dict with `kernel_initializer` (input weights `W_in`),
        `recurrent_initializer` (`W_rec`), `output_initializer` (`W_out`, for
        the output `Dense` layer's `kernel_initializer`) and `activation`.

    Example:

    >>> init = paper_initializers("smart_tanh", seed=0)
    >>> rnn = keras.layers.SimpleRNN(
    ...     50,
    ...     activation=init["activation"],
    ...     kernel_initializer=init["kernel_initializer"],
    ...     recurrent_initializer=init["recurrent_initializer"],
    ... )
    >>> head = keras.layers.Dense(4, kernel_initializer=init["output_initializer"])
    """
    if scheme not in PAPER_SCHEMES:
        raise ValueError(
            f"Argument `scheme` must be one of {list(PAPER_SCHEMES)}. "
            f"Received: scheme={scheme!r}"
        )
    if seed is not None and not (
        _validation.is_integer(seed) and 0 <= seed <= MAX_SEED
    ):
        raise ValueError(
            f"Argument `seed` must be None or an integer in [0, {MAX_SEED}]. "
            f"Received: seed={seed!r}"
        )
    seed = None if seed is None else int(seed)
    kernel_seed, recurrent_seed, output_seed = (
        (None, None, None) if seed is None else (3 * seed, 3 * seed + 1, 3 * seed + 2)
    )
    activation, stddev = PAPER_SCHEMES[scheme]
    if scheme == "smart_tanh":
        recurrent = SparseSpectral(stddev=stddev, seed=recurrent_seed)
    else:
        recurrent = keras.initializers.RandomNormal(stddev=stddev, seed=recurrent_seed)
    return {
        "kernel_initializer": keras.initializers.RandomNormal(
            stddev=stddev, seed=kernel_seed
        ),
        "recurrent_initializer": recurrent,
        "output_initializer": keras.initializers.RandomNormal(
            stddev=stddev, seed=output_seed
        ),
        "activation": activation,
    }
