"""Tests for `keras_rnncr.tasks.task_model`: the optimizer of each method, checks."""

import numpy as np
import pytest

from keras_rnncr import tasks
from keras_rnncr.optimizers import ClippedOptimizer


@pytest.mark.parametrize("method", tasks.METHODS)
def test_method_sets_optimizer_and_omega(method):
    model = tasks.task_model(
        "addition", method=method, units=4, learning_rate=np.float32(0.05), seed=0
    )
    clipped = isinstance(model.optimizer, ClippedOptimizer)
    assert clipped == (method != "sgd")
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.05)
    assert model.get_layer("rnn").omega == (4.0 if method == "sgd-cr" else 0.0)


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "adam"}, r"Argument `method` must be one of \('sgd'"),
        ({"units": 0}, r"`units` must be a positive integer. Received: units=0"),
        ({"units": True}, r"`units` must be a positive integer. Received: units=True"),
        (
            {"learning_rate": -1},
            r"`learning_rate` must be a positive float. Received: learning_rate=-1",
        ),
        ({"learning_rate": NAN}, r"positive float. Received: learning_rate=nan"),
        ({"learning_rate": INF}, r"positive float. Received: learning_rate=inf"),
        ({"omega": NAN}, r"`omega` must be a non-negative float. Received: omega=nan"),
        ({"omega": -1.0}, r"non-negative float. Received: omega=-1.0"),
        ({"n_values": 0}, r"`n_values` must be a positive integer. Received: n_"),
        ({"threshold": NAN}, r"`threshold` must be a positive float. Received: thr"),
        # Not used by sgd, and checked all the same (as omega is).
        ({"method": "sgd", "threshold": -1.0}, r"`threshold` must be a positive"),
        ({"method": "sgd", "threshold": "bogus"}, r"`threshold` must be a positive"),
        ({"jit_compile": "no"}, r'`jit_compile` must be "auto", True or False'),
        ({"n_values": 3}, r"`n_values` applies to memorization only; addition"),
        ({"n_values": 5}, r"`n_values` applies to memorization only; addition"),
    ],
)
def test_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tasks.task_model("addition", **{"units": 4, **kwargs})


@pytest.mark.parametrize("n_values, sizes", [(None, (7, 6)), (3, (5, 4))])
def test_memorization_sizes_follow_n_values(n_values, sizes):
    model = tasks.task_model("memorization", units=4, n_values=n_values)
    assert (model.input_shape[-1], model.output_shape[-1]) == sizes
