"""Tests of HalveLearningRateOnIncrease."""

import keras
import numpy as np
import pytest

import keras_rnncr


def _model(optimizer):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer, "mse")
    return model


def _rates(callback, model, errors):
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, error in enumerate(errors):
        logs = {"loss": error}
        callback.on_epoch_end(epoch, logs)
        rates.append(logs["learning_rate"])
    return rates


def test_halves_on_every_rise_against_the_previous_epoch():
    model = _model(keras.optimizers.SGD(1.0))
    callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease()
    # 1.05 is above the best (0.9) but below the previous epoch (1.1): no halving,
    # unlike ReduceLROnPlateau(patience=0).
    rates = _rates(callback, model, [1.0, 0.9, 1.1, 1.05, 1.2, 1.2])
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert float(model.optimizer.learning_rate) == 0.25


def test_works_through_clipped_optimizer_and_respects_floor():
    optimizer = keras_rnncr.optimizers.ClippedOptimizer(
        keras.optimizers.SGD(1.0), threshold=8.0
    )
    model = _model(optimizer)
    callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease(
        factor=0.1, min_learning_rate=0.05
    )
    assert _rates(callback, model, [1.0, 2.0, 3.0, 4.0]) == [1.0, 0.1, 0.05, 0.05]
    assert float(optimizer.inner_optimizer.learning_rate) == pytest.approx(0.05)


def test_min_delta_ignores_small_rises():
    model = _model(keras.optimizers.SGD(1.0))
    callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease(min_delta=0.5)
    assert _rates(callback, model, [1.0, 1.4, 2.0]) == [1.0, 1.0, 0.5]


def test_in_fit_logs_learning_rate_and_restarts_per_fit():
    model = _model(keras.optimizers.SGD(0.01))
    x = np.ones((4, 2), "float32")
    callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease()
    history = model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[callback])
    assert "learning_rate" in history.history
    callback.on_train_begin()
    assert callback.previous is None


def test_missing_monitor_names_the_available_logs():
    model = _model(keras.optimizers.SGD(1.0))
    callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease("val_loss")
    callback.set_model(model)
    with pytest.raises(KeyError, match="monitors `val_loss`.*Available: \\['loss'\\]"):
        callback.on_epoch_end(0, {"loss": 1.0})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"monitor": ""}, "Argument `monitor` must be the name"),
        ({"monitor": 3}, "Argument `monitor` must be the name"),
        ({"factor": 1.0}, r"Argument `factor` must be a float in \(0, 1\)"),
        ({"factor": 0}, r"Argument `factor` must be a float in \(0, 1\)"),
        ({"factor": True}, r"Argument `factor` must be a float in \(0, 1\)"),
        ({"factor": float("nan")}, r"float in \(0, 1\). Received: factor=nan"),
        ({"min_delta": -1.0}, "Argument `min_delta` must be a non-negative"),
        ({"min_delta": float("inf")}, "non-negative float. Received: min_delta=inf"),
        ({"min_learning_rate": -0.1}, "Argument `min_learning_rate` must be a non"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_rnncr.callbacks.HalveLearningRateOnIncrease(**kwargs)
