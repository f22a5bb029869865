"""The one rule on piano-roll values, shared by the data, baseline and
generation functions: a key sounds or not."""

import numpy as np


def check_binary(name, roll, index=None):
    """Refuses a roll with values other than 0 and 1 (bools pass): a roll of
    velocities or probabilities, or NaN, would give numbers that mean
    nothing (a per-key NLL without a lower bound) without an error."""
    roll = np.asarray(roll)
    if roll.dtype == bool or np.isin(roll, (0, 1)).all():
        return
    what, where = (
        ("be a piano roll", "")
        if index is None
        else ("hold piano rolls", f" (sequence {index})")
    )
    raise ValueError(
        f"Argument `{name}` must {what} of 0s and 1s (or bools): a key sounds "
        "or not (threshold velocities or probabilities first). Received values "
        f"other than 0 and 1{where}."
    )
