"""Argument checks shared by the whole package: one set of rules for numbers.

The rules:

- An integer is a Python or numpy integer (`3`, `np.int64(3)`); a float is
  any Python or numpy real number (`0.5`, `np.float32(0.5)`, `2`). Bools
  (`True`, `np.bool_(True)`) are neither, although Python counts `True` as 1.
  A bool is `True` or `False`, Python's or numpy's; `1`, `"True"` and `None`
  are not bools.
- A float must be finite: NaN and infinity are refused everywhere. An argument
  without a limit takes `None`, never `inf`.
- Every check returns the value as a Python `int`, `float` or `bool`, so numpy scalars
  do not reach `get_config` (JSON) or TensorFlow graphs.
- A refused value raises `ValueError` in the Keras shape, naming the argument,
  what it accepts and what it received:
  "Argument `threshold` must be a positive float. Received: threshold=nan".
"""

import math
import numbers

import numpy as np


def is_integer(value):
    """True for Python and numpy integers, False for bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_float(value):
    """True for finite Python and numpy real numbers (integers too), not bools."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def check_positive_int(name, value, allow_none=False):
    """Returns `value` as an `int` if it is an integer > 0 (or allowed None)."""
    return _check_int(name, value, 1, None, "a positive integer", allow_none)


def check_non_negative_int(name, value, allow_none=False):
    """Returns `value` as an `int` if it is an integer >= 0 (or allowed None)."""
    return _check_int(name, value, 0, None, "a non-negative integer", allow_none)


def check_int_in_range(name, value, low, high):
    """Returns `value` as an `int` if it is an integer in `[low, high]`."""
    return _check_int(name, value, low, high, f"an integer in [{low}, {high}]")


def check_seed(seed, name="seed"):
    """Returns `seed` as an `int` (or None) if it is None or an integer >= 0."""
    return check_non_negative_int(name, seed, allow_none=True)


def check_positive_float(name, value, allow_none=False):
    """Returns `value` as a `float` if it is finite and > 0 (or allowed None)."""
    if allow_none and value is None:
        return None
    if not is_float(value) or not value > 0:
        _fail(name, value, "a positive float", allow_none)
    return float(value)


def check_non_negative_float(name, value, allow_none=False):
    """Returns `value` as a `float` if it is finite and >= 0 (or allowed None)."""
    if allow_none and value is None:
        return None
    if not is_float(value) or not value >= 0:
        _fail(name, value, "a non-negative float", allow_none)
    return float(value)


def check_float_in_range(name, value, low, high, low_closed=False, high_closed=False):
    """Returns `value` as a `float` if it lies in the interval from low to high.

    The ends are open unless `low_closed`/`high_closed`; the message writes
    the interval as `(0, 100]`.
    """
    above = is_float(value) and (value >= low if low_closed else value > low)
    if not above or not (value <= high if high_closed else value < high):
        interval = f"{'[' if low_closed else '('}{low:g}, {high:g}"
        interval += "]" if high_closed else ")"
        _fail(name, value, f"a float in {interval}")
    return float(value)


def check_bool(name, value):
    """Returns `value` as a Python bool if it is a Python or numpy bool."""
    if not isinstance(value, bool | np.bool_):
        _fail(name, value, "a bool (True or False)")
    return bool(value)


def check_jit_compile(value, name="jit_compile"):
    """Returns `value` (as `compile` takes it) if it is `"auto"` or a bool; a
    string such as `"no"` would otherwise turn XLA on (it is true)."""
    if isinstance(value, str) and value == "auto":
        return value
    if not isinstance(value, bool | np.bool_):
        _fail(name, value, '"auto", True or False')
    return bool(value)


def _check_int(name, value, low, high, expected, allow_none=False):
    if allow_none and value is None:
        return None
    if (
        not is_integer(value)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        _fail(name, value, expected, allow_none)
    return int(value)


def _fail(name, value, expected, allow_none=False):
    expected += " or None" if allow_none else ""
    raise ValueError(
        f"Argument `{name}` must be {expected}. Received: {name}={value!r}"
    )
