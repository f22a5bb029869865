"""One-hot encoding of integer symbol arrays, shared by the symbolic tasks."""

import numpy as np


def one_hot(symbols, depth):
    """Returns float32 one-hot vectors, shape `symbols.shape + (depth,)`."""
    encoded = np.zeros((symbols.size, depth), dtype=np.float32)
    encoded[np.arange(symbols.size), symbols.ravel()] = 1.0
    return encoded.reshape(symbols.shape + (depth,))
