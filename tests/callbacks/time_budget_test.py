"""Tests of TimeBudget."""

import keras
import numpy as np
import pytest

import keras_rnncr


class _Clock:
    def __init__(self, times):
        self.times = iter(times)

    def __call__(self):
        return next(self.times)


def _drive(budget, epoch_ends):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.stop_training = False
    budget.set_model(model)
    budget.on_train_begin()
    ran = []
    for epoch in range(len(epoch_ends)):
        logs = {}
        budget.on_epoch_end(epoch, logs)
        ran.append(logs["wall_time"])
        if model.stop_training:
            break
    return ran


def test_stops_before_the_next_epoch_would_overrun():
    # Start at 0; epochs end at 3, 6, 9: after 6 s the next would end near 9 > 8.
    budget = keras_rnncr.callbacks.TimeBudget(8.0, clock=_Clock([0, 3, 6, 9, 12]))
    assert _drive(budget, [3, 6, 9, 12]) == [3, 6]
    assert budget.stopped_epoch == 1


def test_uses_the_longest_epoch_and_always_runs_the_first():
    budget = keras_rnncr.callbacks.TimeBudget(1.0, clock=_Clock([0, 5, 6]))
    assert _drive(budget, [5, 6]) == [5]
    budget = keras_rnncr.callbacks.TimeBudget(11.5, clock=_Clock([0, 5, 6, 7, 8]))
    # Epochs of 5 s then 1 s: the prediction keeps the 5 s epoch.
    assert _drive(budget, [5, 6, 7, 8]) == [5, 6, 7]


def test_stops_fit():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    budget = keras_rnncr.callbacks.TimeBudget(1e-9)
    x = np.ones((2, 1), "float32")
    history = model.fit(x, x, epochs=5, verbose=0, callbacks=[budget])
    assert len(history.history["loss"]) == 1
    assert history.history["wall_time"][0] > 0


@pytest.mark.parametrize(
    "seconds", [0, -1.0, "10", True, None, float("inf"), float("nan")]
)
def test_rejects_bad_seconds(seconds):
    with pytest.raises(ValueError, match="Argument `seconds` must be a positive"):
        keras_rnncr.callbacks.TimeBudget(seconds)


def test_rejects_bad_clock():
    with pytest.raises(TypeError, match="Argument `clock` must be callable"):
        keras_rnncr.callbacks.TimeBudget(1.0, clock=3)
