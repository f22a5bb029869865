"""Helpers shared by the benchmark scripts: the machine, a bootstrap interval.

The scripts run as `python benchmarks/<script>.py`, so this folder is on
`sys.path` and they import this module as `_common`.
"""

import os
import platform

import numpy as np


def machine():
    """The machine a benchmark runs on, for its JSON output.

    Returns:
        dict: `platform`, `processor`, `cpu_count`, `python`, and the
        `tensorflow` and `keras` versions.
    """
    import keras
    import tensorflow as tf

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def median_interval(values, resamples=2000, seed=0):
    """95% percentile-bootstrap interval of the median of `values`.

    Draws `resamples` samples of `len(values)` values with replacement (a
    `numpy.random.default_rng(seed)`), takes the median of each, and returns
    the 2.5th and 97.5th percentiles of those medians.

    Returns:
        `[low, high]`, two floats.
    """
    rng = np.random.default_rng(seed)
    samples = rng.choice(np.asarray(values), size=(resamples, len(values)))
    return [float(q) for q in np.percentile(np.median(samples, 1), [2.5, 97.5])]


def positive_int(text):
    """argparse type: an integer > 0."""
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text):
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0, "an integer >= 0")


def _int_at_least(text, low, expected):
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise argparse.ArgumentTypeError(f"{text!r} is not {expected}")
    return value
