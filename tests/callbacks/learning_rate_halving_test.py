"""Tests of HalveLearningRateOnIncrease and HalveLearningRateOnPlateau."""

import json

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
    rates = _rates(callback, model, [1.0, 2.0, 3.0, 4.0])
    assert rates == pytest.approx([1.0, 0.1, 0.05, 0.05])
    assert float(optimizer.inner_optimizer.learning_rate) == pytest.approx(0.05)


def test_no_halving_is_reported_at_the_floor(capsys):
    model = _model(keras.optimizers.SGD(1.0))
    callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease(
        factor=0.5, min_learning_rate=0.001, verbose=1
    )
    model.optimizer.learning_rate = 0.001  # read back as 0.0010000000474974513
    _rates(callback, model, [1.0, 2.0, 3.0])
    assert "learning rate" not in capsys.readouterr().out


def test_a_nan_epoch_halves_and_is_not_the_next_reference():
    model = _model(keras.optimizers.SGD(1.0))
    callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease()
    # Before: NaN became the previous value, so the rise to 10 went unseen.
    assert _rates(callback, model, [5.0, 4.0, float("nan"), 10.0]) == [
        1.0,
        1.0,
        0.5,
        0.25,
    ]


def test_mode_max_halves_when_the_value_drops():
    model = _model(keras.optimizers.SGD(1.0))
    callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease(
        "val_accuracy", mode="max"
    )
    callback.set_model(model)
    rates = []
    for epoch, accuracy in enumerate([0.5, 0.6, 0.7, 0.65, 0.8]):
        logs = {"val_accuracy": accuracy}
        callback.on_epoch_end(epoch, logs)
        rates.append(logs["learning_rate"])
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5]


def test_auto_mode_refuses_a_metric_of_unknown_direction():
    model = _model(keras.optimizers.SGD(1.0))
    for callback in (
        keras_rnncr.callbacks.HalveLearningRateOnIncrease("val_accuracy"),
        keras_rnncr.callbacks.HalveLearningRateOnPlateau("val_accuracy"),
    ):
        callback.set_model(model)
        with pytest.raises(ValueError, match="Pass `mode='min'`.*monitor='val_acc"):
            callback.on_epoch_end(0, {"val_accuracy": 0.5})


def test_auto_mode_reads_the_direction_of_a_compiled_metric():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(
        keras.optimizers.SGD(0.1),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau("accuracy", patience=1)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[plateau])
    best = plateau.best
    logs = {"accuracy": best + 0.1}
    plateau.on_epoch_end(1, logs)  # higher accuracy: a new best
    assert plateau.best == pytest.approx(best + 0.1) and plateau.wait == 0


def test_min_delta_ignores_small_rises():
    model = _model(keras.optimizers.SGD(1.0))
    callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease(min_delta=0.5)
    assert _rates(callback, model, [1.0, 1.4, 2.0]) == [1.0, 1.0, 0.5]


def test_in_fit_logs_learning_rate_and_keeps_state_across_fits():
    model = _model(keras.optimizers.SGD(0.01))
    x = np.ones((4, 2), "float32")
    callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease()
    history = model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[callback])
    assert "learning_rate" in history.history
    last = history.history["loss"][-1]
    model.fit(x, x[:, :1], epochs=0, verbose=0, callbacks=[callback])
    assert callback.get_state() == {"previous": pytest.approx(last)}
    callback.reset_state()
    assert callback.get_state() == {"previous": None}


def test_increase_state_resumes_through_a_training_checkpoint(tmp_path):
    errors = [1.0, 0.5, 0.8, 0.9]

    def run(epochs, checkpoint_dir):
        model = _model(keras.optimizers.SGD(1.0))
        callback = keras_rnncr.callbacks.HalveLearningRateOnIncrease()
        checkpoint = keras_rnncr.callbacks.TrainingCheckpoint(
            checkpoint_dir, callbacks=[callback]
        )
        done = checkpoint.restore(model)
        callback.set_model(model)
        checkpoint.set_model(model)
        checkpoint.on_train_begin()
        for epoch in range(done, epochs):
            logs = {"loss": errors[epoch]}
            callback.on_epoch_end(epoch, logs)
            checkpoint.on_epoch_end(epoch, logs)
        checkpoint.save()
        return float(model.optimizer.learning_rate)

    whole = run(4, tmp_path / "whole")
    run(2, tmp_path / "cut")
    # The first epoch after the resume compares with the last one before it.
    assert run(4, tmp_path / "cut") == whole == 0.25


@pytest.mark.parametrize(
    "cls", ["HalveLearningRateOnIncrease", "HalveLearningRateOnPlateau"]
)
def test_an_epoch_without_the_monitored_value_is_skipped_with_a_warning(cls):
    model = _model(keras.optimizers.SGD(1.0))
    x = np.ones((8, 2), "float32")
    callback = getattr(keras_rnncr.callbacks, cls)("val_loss")
    if cls == "HalveLearningRateOnPlateau":
        callback = keras_rnncr.callbacks.HalveLearningRateOnPlateau(
            "val_loss", patience=1
        )
    with pytest.warns(UserWarning, match=f"{cls} monitors `val_loss`.*epoch 1"):
        history = model.fit(
            x,
            x[:, :1],
            validation_data=(x, x[:, :1]),
            validation_freq=2,
            epochs=4,
            verbose=0,
            callbacks=[callback],
        )
    assert len(history.history["learning_rate"]) == 4
    assert len(history.history["val_loss"]) == 2


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
        ({"mode": "lower"}, r"`mode` must be one of \('auto', 'min', 'max'\)"),
        ({"verbose": "loud"}, "Argument `verbose` must be a non-negative number"),
        ({"verbose": -3}, "Argument `verbose` must be a non-negative number"),
        ({"verbose": None}, "Argument `verbose` must be a non-negative number"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_rnncr.callbacks.HalveLearningRateOnIncrease(**kwargs)


# ---------------------------------------------------------------- on plateau


def _plateau_rates(callback, model, errors, monitor="val_loss", first_epoch=0):
    callback.set_model(model)
    rates, halvings = [], []
    for epoch, error in enumerate(errors, start=first_epoch):
        logs = {monitor: error}
        callback.on_epoch_end(epoch, logs)
        rates.append(logs["learning_rate"])
        halvings.append(logs["halvings"])
        if model.stop_training:
            break
    return rates, halvings


# The validation NLL of a Nottingham run (SGD-CR, batch 4, 41 epochs of 100
# updates; issue 14), to 3 decimals: it falls with short upward fluctuations
# (at most 3 epochs without a new best at this rounding).
_NOISY_DESCENT = [6.95, 6.587, 6.091, 5.574, 5.473, 5.233, 5.027, 5.121, 4.94]
_NOISY_DESCENT += [4.879, 4.798, 4.731, 4.723, 4.641, 4.647, 4.595, 4.546, 4.547]
_NOISY_DESCENT += [4.539, 4.518, 4.462, 4.459, 4.45, 4.418, 4.439, 4.457, 4.392]
_NOISY_DESCENT += [4.393, 4.359, 4.413, 4.359, 4.372, 4.322, 4.313, 4.355, 4.295]
_NOISY_DESCENT += [4.292, 4.301, 4.286, 4.268, 4.305]


def test_plateau_keeps_the_rate_through_short_fluctuations():
    model = _model(keras.optimizers.SGD(1.0))
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau(patience=5)
    rates, halvings = _plateau_rates(plateau, model, _NOISY_DESCENT)
    assert set(rates) == {1.0} and halvings[-1] == 0
    # The literal rule of the paper halves at every rise.
    literal = keras_rnncr.callbacks.HalveLearningRateOnIncrease("val_loss")
    literal.set_model(_model(keras.optimizers.SGD(1.0)))
    for epoch, error in enumerate(_NOISY_DESCENT):
        logs = {"val_loss": error}
        literal.on_epoch_end(epoch, logs)
    assert logs["learning_rate"] < 1e-3


def test_plateau_halves_after_patience_and_restarts_the_count():
    model = _model(keras.optimizers.SGD(1.0))
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau(patience=2)
    errors = [3.0, 2.0, 2.5, 2.1, 2.2, 2.3, 1.9, 2.0, 1.95, 1.0]
    rates, halvings = _plateau_rates(plateau, model, errors)
    # best 2.0 at epoch 2; epochs 3-4 do not beat it: halve at epoch 4; the
    # count restarts, epochs 5-6 do not beat it either: halve at epoch 6; 1.9
    # is a new best; 2.0 and 1.95 are not: halve at epoch 9.
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125]
    assert halvings == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]
    assert plateau.best == 1.0 and plateau.wait == 0


def test_plateau_min_delta_requires_a_real_improvement():
    model = _model(keras.optimizers.SGD(1.0))
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau(
        patience=2, min_delta=0.1
    )
    rates, _ = _plateau_rates(plateau, model, [2.0, 1.95, 1.92, 1.85, 1.5])
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.5]  # 1.85 < 1.9: a new best


def test_plateau_relative_min_delta_is_a_fraction_of_the_best():
    model = _model(keras.optimizers.SGD(1.0))
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau(
        patience=1, min_delta=0.01, min_delta_mode="relative"
    )
    # 1.99 gains 0.5% on 2.0 (< 1%): no new best, halve; 1.97 gains 1.5%: new
    # best; 1.955 gains 0.76% on 1.97: halve; 1.9 gains 3.6%: new best.
    rates, _ = _plateau_rates(plateau, model, [2.0, 1.99, 1.97, 1.955, 1.9])
    assert rates == [1.0, 0.5, 0.5, 0.25, 0.25]
    assert plateau.best == 1.9
    absolute = keras_rnncr.callbacks.HalveLearningRateOnPlateau(
        patience=1, min_delta=0.005
    )
    model = _model(keras.optimizers.SGD(1.0))
    rates, _ = _plateau_rates(absolute, model, [2.0, 1.99, 1.97, 1.955, 1.9])
    assert rates == [1.0] * 5  # each gains more than 0.005
    # A negative monitored value (a log-likelihood's negative): the margin is
    # a fraction of its size, 1% of 2.0 here.
    model = _model(keras.optimizers.SGD(1.0))
    negative = keras_rnncr.callbacks.HalveLearningRateOnPlateau(
        patience=1, min_delta=0.01, min_delta_mode="relative"
    )
    rates, _ = _plateau_rates(negative, model, [-2.0, -2.01, -2.03])
    assert rates == [1.0, 0.5, 0.5]


def test_plateau_nan_is_no_improvement():
    model = _model(keras.optimizers.SGD(1.0))
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau(patience=1)
    rates, _ = _plateau_rates(plateau, model, [float("nan"), 2.0, float("nan")])
    assert rates == [0.5, 0.5, 0.25]
    assert plateau.best == 2.0


def test_plateau_caps_halvings_and_stops_when_exhausted():
    model = _model(keras.optimizers.SGD(1.0))
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau(
        patience=1, max_halvings=2, stop_when_exhausted=True
    )
    rates, halvings = _plateau_rates(plateau, model, [1.0, 1.0, 1.0, 1.0, 1.0])
    assert rates == [1.0, 0.5, 0.25, 0.25]  # stops at the 4th epoch
    assert halvings == [0, 1, 2, 2]
    assert model.stop_training and plateau.stopped_epoch == 3


def test_plateau_without_stop_keeps_training_at_the_last_rate():
    model = _model(keras.optimizers.SGD(1.0))
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau(
        patience=1, max_halvings=1
    )
    rates, _ = _plateau_rates(plateau, model, [1.0] * 5)
    assert rates == [1.0, 0.5, 0.5, 0.5, 0.5] and not model.stop_training


def test_plateau_floor_is_not_a_halving():
    optimizer = keras_rnncr.optimizers.ClippedOptimizer(
        keras.optimizers.SGD(1.0), threshold=8.0
    )
    model = _model(optimizer)
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau(
        patience=1, factor=0.1, min_learning_rate=0.05, stop_when_exhausted=True
    )
    rates, halvings = _plateau_rates(plateau, model, [1.0] * 5)
    assert rates == pytest.approx([1.0, 0.1, 0.05, 0.05])
    assert halvings == [0, 1, 2, 2]  # the step to the floor counts, not after
    assert float(optimizer.inner_optimizer.learning_rate) == pytest.approx(0.05)


def test_plateau_state_restored_continues_the_schedule():
    errors = [3.0, 2.0, 2.5, 2.1, 2.2, 2.3, 1.9, 2.0, 1.95, 1.96, 1.97, 1.98]
    kwargs = dict(patience=2, max_halvings=3, stop_when_exhausted=True)
    whole_model = _model(keras.optimizers.SGD(1.0))
    whole = keras_rnncr.callbacks.HalveLearningRateOnPlateau(**kwargs)
    expected = _plateau_rates(whole, whole_model, errors)
    assert len(expected[0]) == 11  # stopped at the 11th epoch
    for cut in range(1, len(expected[0])):
        first_model = _model(keras.optimizers.SGD(1.0))
        first = keras_rnncr.callbacks.HalveLearningRateOnPlateau(**kwargs)
        head = _plateau_rates(first, first_model, errors[:cut])
        state = json.loads(json.dumps(first.get_state()))  # as a checkpoint
        second_model = _model(keras.optimizers.SGD(head[0][-1]))  # lr restored
        second = keras_rnncr.callbacks.HalveLearningRateOnPlateau(**kwargs)
        second.set_state(state)
        tail = _plateau_rates(second, second_model, errors[cut:], first_epoch=cut)
        assert (head[0] + tail[0], head[1] + tail[1]) == expected, cut
        assert second.get_state() == whole.get_state()


def test_plateau_state_lasts_across_fit_calls_until_reset():
    model = _model(keras.optimizers.SGD(0.01))
    x = np.ones((4, 2), "float32")
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau("loss", patience=50)
    model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[plateau])
    best = plateau.best
    history = model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[plateau])
    assert plateau.best <= best and plateau.best is not None
    assert history.history["learning_rate"] == [pytest.approx(0.01)]
    assert history.history["halvings"] == [0]
    plateau.reset_state()
    assert plateau.get_state() == {
        "best": None,
        "wait": 0,
        "halvings": 0,
        "stopped_epoch": None,
    }


def test_plateau_missing_monitor_names_the_available_logs():
    model = _model(keras.optimizers.SGD(1.0))
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau("val_frame_nll")
    plateau.set_model(model)
    logs = {"loss": 1.0}
    with pytest.warns(UserWarning, match="Plateau monitors `val_frame_nll`.*'loss'"):
        plateau.on_epoch_end(0, logs)
    assert plateau.get_state()["wait"] == 0 and logs["halvings"] == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"monitor": ""}, "Argument `monitor` must be the name"),
        ({"patience": 0}, "Argument `patience` must be a positive integer"),
        ({"patience": 1.5}, "Argument `patience` must be a positive integer"),
        ({"factor": 1.0}, r"Argument `factor` must be a float in \(0, 1\)"),
        ({"min_delta": -1.0}, "Argument `min_delta` must be a non-negative"),
        ({"max_halvings": -1}, "`max_halvings` must be a non-negative integer or"),
        ({"max_halvings": 2.0}, "`max_halvings` must be a non-negative integer or"),
        ({"min_learning_rate": float("nan")}, "Received: min_learning_rate=nan"),
        ({"stop_when_exhausted": 1}, "`stop_when_exhausted` must be a bool"),
        ({"mode": "up"}, r"`mode` must be one of \('auto', 'min', 'max'\)"),
        (
            {"min_delta": 1.0, "min_delta_mode": "relative"},
            'must be below 1 with min_delta_mode="relative"',
        ),
        (
            {"min_delta_mode": "percent"},
            r"`min_delta_mode` must be one of \('absolute', 'relative'\)",
        ),
    ],
)
def test_plateau_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_rnncr.callbacks.HalveLearningRateOnPlateau(**kwargs)


@pytest.mark.parametrize(
    "cls",
    [
        keras_rnncr.callbacks.HalveLearningRateOnIncrease,
        keras_rnncr.callbacks.HalveLearningRateOnPlateau,
    ],
)
@pytest.mark.parametrize(
    "rate",
    [keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9), lambda: 0.1],
    ids=["schedule", "callable"],
)
def test_a_learning_rate_schedule_is_refused_before_the_first_epoch(cls, rate):
    model = _model(keras.optimizers.SGD(rate))
    epochs = []
    seen = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: epochs.append(e)
    )
    x, y = np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32")
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[cls(monitor="loss"), seen])
    assert epochs == []


@pytest.mark.parametrize("verbose", [True, np.int64(1), 0, 2.0])
def test_verbose_takes_numbers_and_bools(verbose):
    plateau = keras_rnncr.callbacks.HalveLearningRateOnPlateau(verbose=verbose)
    assert plateau.verbose == verbose
