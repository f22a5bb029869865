"""One-hot encoding of integer symbol arrays, shared by the symbolic tasks."""

import numpy as np


def one_hot(symbols, depth):
    """Returns float32 one-hot vectors, shape `symbols.shape + (depth,)`."""
    return np.eye(depth, dtype=np.float32)[symbols]
