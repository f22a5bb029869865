"""Helpers shared by the benchmark scripts: the machine, a bootstrap interval.

The scripts run as `python benchmarks/<script>.py`, so this folder is on
`sys.path` and they import this module as `_common`.
"""

import os
import platform
import subprocess
import sys
import time

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


def provenance():
    """What a speed figure needs beside the machine: the CPU model (from
    `/proc/cpuinfo`; `platform.processor()` says only "x86_64" on Linux), the
    commit (with "+dirty" when the working tree differs from it) and the
    command line."""
    cpu_model = None
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu_model = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                None,
            )
    except OSError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
            cwd=os.path.dirname(here),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += "+dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"cpu_model": cpu_model, "commit": commit, "command": sys.argv}


def step_timer(clock=time.perf_counter):
    """A Keras callback that times each training step with `clock`.

    Timing steps inside one `fit` leaves out what every `fit` call costs
    besides its steps (a new epoch iterator, callbacks, the History), which
    timing whole `fit` calls of a few steps counts as step time, pulling
    every ratio toward 1. `timer.seconds` lists the steps' durations by
    `clock`, `timer.cpu_seconds` by the process's CPU clock.
    """
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.cpu_seconds = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self._start, self._cpu_start = clock(), time.process_time()

        def on_train_batch_end(self, batch, logs=None):
            self.seconds.append(clock() - self._start)
            self.cpu_seconds.append(time.process_time() - self._cpu_start)

    return StepTimer()


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
