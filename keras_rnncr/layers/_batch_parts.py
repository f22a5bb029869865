"""Compiled loops split into parts of the batch, to run side by side.

XLA's CPU code runs a compiled loop on one thread, where TensorFlow's own ops
(those of Keras's layers) share each product between the threads TensorFlow
may use. The rows of a batch are independent through a recurrence until the
weight sums, so the fused passes can run their compiled loops once per part of
the batch rows; TensorFlow's executor runs independent ops side by side, one
part per core. Measured (SimpleRNN, omega=2, batch 64, 128 units, T=100, a
last-step loss, wall clock with TensorFlow's threads on a 2-core CPU, 15
rounds): the streaming pass in one part took 1.36x Keras's step time, in two
parts 1.00x.
"""

import numbers
import os

import tensorflow as tf

from keras_rnncr import _private_apis

# The fewest batch rows a part gets from `batch_parts`.
MIN_PART_ROWS = 16

# The batch size `batch_parts` assumes when it is unknown at trace time:
# `fit`'s default.
UNKNOWN_BATCH = 32


def batch_parts(batch):
    """Into how many parts to split a batch of `batch` rows (None: unknown).

    One part per loop that may run side by side (`side_by_side`: the
    threads TensorFlow may use), each of at least `MIN_PART_ROWS` rows.
    When the batch size is unknown at trace time (`fit` on arrays traces its
    step so), as for a batch of `UNKNOWN_BATCH` rows (`fit`'s default batch
    size): two parts at most; measured at batch 8 and 20 (50
    units, T=200), two parts cost 3-8% more step time than one.
    """
    if batch is None:
        batch = UNKNOWN_BATCH
    return max(1, min(side_by_side(), batch // MIN_PART_ROWS))


def side_by_side():
    """How many compiled loops may run side by side here: the fewer of the
    intra- and inter-op threads TensorFlow may use (set by
    `tf.config.threading`, else by the `TF_NUM_INTRAOP_THREADS` and
    `TF_NUM_INTEROP_THREADS` variables that TensorFlow reads, else the
    cores); 1 inside a step that XLA compiles whole (one computation;
    nothing runs beside it) and on a machine with a GPU (whose kernels use
    the device whole)."""
    if _private_apis.in_xla_context() or tf.config.list_logical_devices("GPU"):
        return 1
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    threading = tf.config.threading
    return min(
        threading.get_intra_op_parallelism_threads()
        or _from_environment("TF_NUM_INTRAOP_THREADS")
        or cores,
        threading.get_inter_op_parallelism_threads()
        or _from_environment("TF_NUM_INTEROP_THREADS")
        or cores,
    )


def _from_environment(name):
    """The positive thread count in the variable `name`, or 0 (unset, or
    not a positive integer: TensorFlow then takes its default too)."""
    try:
        value = int(os.environ.get(name, "0"))
    except ValueError:
        return 0
    return max(value, 0)


def row_slices(batch, parts):
    """`parts` slices of consecutive rows covering `batch` rows (an int, or a
    scalar tensor when the batch size is known only when the step runs), as
    even as they go (`[slice(None)]` for one part)."""
    if parts == 1:
        return [slice(None)]
    bounds = [batch * i // parts for i in range(parts + 1)]
    return [slice(low, high) for low, high in zip(bounds[:-1], bounds[1:])]


def rows_of(tensor, rows, axis):
    """`tensor`'s `rows` along `axis` (0 or 1), None for None."""
    if tensor is None:
        return None
    return tensor[rows] if axis == 0 else tensor[:, rows]


def check_parts(name, value):
    """`value` of the argument `name`: `"auto"` or an int >= 1 (returned as
    an int); anything else raises a `ValueError` naming both."""
    if value != "auto" and (
        isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
    ):
        raise ValueError(
            f'Argument `{name}` must be "auto" or an int >= 1. '
            f"Received: {name}={value!r}"
        )
    return value if value == "auto" else int(value)
