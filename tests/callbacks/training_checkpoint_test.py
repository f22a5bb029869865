"""Tests of TrainingCheckpoint: a run stopped and resumed is the uninterrupted run."""

import itertools
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnncr import callbacks, music, text

_EPOCHS = 6


def _rolls(seed, count=6):
    rng = np.random.default_rng(seed)
    return [rng.random((int(rng.integers(8, 30)), 88)) < 0.1 for _ in range(count)]


_TRAIN = music.split_into_subsequences(_rolls(0), length=10)
_VALID = _rolls(1, 3)


def _music_run(directory, epochs, initial_epoch=None, **checkpoint_kwargs):
    """One process' part of a small SGD-CR music run; returns the checkpoint."""
    keras.utils.set_random_seed(0)
    model = music.music_model("sgd-cr", units=5, learning_rate=1.0, seed=0)
    schedule = music.music_callbacks("sgd-cr", omega=0.5, patience=1, max_halvings=3)
    checkpoint = callbacks.TrainingCheckpoint(
        directory,
        callbacks=[schedule[0]],
        monitor="val_frame_nll",
        **checkpoint_kwargs,
    )
    start = checkpoint.restore(model) if initial_epoch is None else initial_epoch
    train, steps = music.next_frame_epochs(_TRAIN, 3, seed=0, initial_epoch=start)
    model.fit(
        train,
        steps_per_epoch=steps,
        validation_data=music.next_frame_dataset(_VALID, 2),
        initial_epoch=start,
        epochs=epochs,
        callbacks=[*schedule, checkpoint],
        verbose=0,
    )
    return model, checkpoint


def _assert_same_run(first, second):
    (model_a, checkpoint_a), (model_b, checkpoint_b) = first, second
    assert checkpoint_a.history.keys() == checkpoint_b.history.keys()
    for key, values in checkpoint_a.history.items():
        np.testing.assert_array_equal(values, checkpoint_b.history[key], err_msg=key)
    for a, b in zip(model_a.variables, model_b.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for a, b in zip(model_a.optimizer.variables, model_b.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_music_run_stopped_and_resumed_equals_the_uninterrupted_run(tmp_path):
    whole = _music_run(tmp_path / "whole", _EPOCHS, initial_epoch=0)
    history = whole[1].history
    assert len(history["loss"]) == _EPOCHS
    # The schedule acted within the run, so its restored state matters.
    assert history["halvings"][-1] >= 1
    expected_alpha = [0.5 / t for t in range(1, _EPOCHS + 1)]
    assert history["rnn_alpha"] == pytest.approx(expected_alpha, rel=1e-6)

    _, stopped = _music_run(tmp_path / "cut", 3)  # the first process stops at 3
    assert stopped.epochs_done == 3 and not stopped.stopped_by_time_limit
    resumed = _music_run(tmp_path / "cut", _EPOCHS)  # a new process resumes
    assert resumed[1].epochs_done == _EPOCHS
    _assert_same_run(whole, resumed)
    assert resumed[1].best == min(history["val_frame_nll"])
    assert resumed[1].best_epoch == int(np.argmin(history["val_frame_nll"]))


def test_time_limit_saves_stops_and_the_rerun_finishes_the_same_run(tmp_path):
    whole = _music_run(tmp_path / "whole", _EPOCHS, initial_epoch=0)
    runs, clock = 0, itertools.count(step=10.0).__next__  # 10 s a clock reading
    while True:
        runs += 1
        model, checkpoint = _music_run(
            tmp_path / "limited", _EPOCHS, time_limit=45.0, clock=clock
        )
        if not checkpoint.stopped_by_time_limit:
            break
        assert checkpoint.epochs_done < _EPOCHS
        assert runs < _EPOCHS
    assert runs > 1  # the limit did stop at least one process
    _assert_same_run(whole, (model, checkpoint))


def test_saves_every_few_seconds_only(tmp_path):
    clock = itertools.count(step=1.0).__next__
    keras.utils.set_random_seed(0)
    model = music.music_model("sgd", units=3, seed=0)
    checkpoint = callbacks.TrainingCheckpoint(
        tmp_path, every_seconds=1000.0, clock=clock
    )
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    checkpoint.on_epoch_end(0, {"loss": 1.0})
    assert not checkpoint.exists()  # too soon, and no time limit
    checkpoint.on_train_end()  # the end of fit always saves
    assert checkpoint.exists()
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["epochs_done"] == 1 and state["history"] == {"loss": [1.0]}


def test_best_weights_are_those_of_the_lowest_monitored_epoch(tmp_path):
    model, checkpoint = _music_run(tmp_path, 3, initial_epoch=0)
    best = checkpoint.best_epoch
    assert checkpoint.history["val_frame_nll"][best] == checkpoint.best
    trained = [v.numpy() for v in model.variables]
    checkpoint.restore_best_weights(model)
    if best == 2:
        for a, b in zip(trained, model.variables):
            np.testing.assert_array_equal(a, b.numpy())
    validation = music.next_frame_dataset(_VALID, 2)
    nll = model.evaluate(validation, verbose=0, return_dict=True)["frame_nll"]
    assert nll == pytest.approx(checkpoint.best, rel=1e-6)


def test_stateful_char_model_run_resumes_exactly(tmp_path):
    ids = np.random.default_rng(0).integers(0, 7, 900)

    def run(directory, epochs, initial_epoch=None):
        keras.utils.set_random_seed(0)
        model = text.char_model("sgd-c", 7, units=6, batch_size=2, seed=0)
        schedule = text.char_callbacks("sgd-c", 1, segment_length=20)
        checkpoint = callbacks.TrainingCheckpoint(directory, monitor="loss")
        start = checkpoint.restore(model) if initial_epoch is None else initial_epoch
        model.fit(
            text.stream_dataset(ids, 2, 20),
            initial_epoch=start,
            epochs=epochs,
            callbacks=[*schedule, checkpoint],
            verbose=0,
        )
        return model, checkpoint

    whole = run(tmp_path / "whole", 4, initial_epoch=0)
    run(tmp_path / "cut", 2)
    _assert_same_run(whole, run(tmp_path / "cut", 4))


def test_restore_without_checkpoint_changes_nothing(tmp_path):
    model = music.music_model("sgd", units=3, seed=0)
    before = [v.numpy() for v in model.variables]
    checkpoint = callbacks.TrainingCheckpoint(tmp_path / "none")
    assert not checkpoint.exists() and checkpoint.restore(model) == 0
    for a, b in zip(before, model.variables):
        np.testing.assert_array_equal(a, b.numpy())
    with pytest.raises(FileNotFoundError, match="No best weights"):
        checkpoint.restore_best_weights(model)


def test_restore_into_another_model_or_callbacks_is_refused(tmp_path):
    _music_run(tmp_path, 1, initial_epoch=0)
    other = music.music_model("sgd-cr", units=7, seed=0)
    halving = callbacks.HalveLearningRateOnPlateau()
    with pytest.raises(ValueError, match="does not match the model"):
        callbacks.TrainingCheckpoint(tmp_path, callbacks=[halving]).restore(other)
    same = music.music_model("sgd-cr", units=5, seed=0)
    with pytest.raises(ValueError, match="holds the state of 1 callbacks"):
        callbacks.TrainingCheckpoint(tmp_path).restore(same)


def test_missing_monitor_skips_the_epoch_and_names_the_available_logs(tmp_path):
    checkpoint = callbacks.TrainingCheckpoint(tmp_path, monitor="val_loss")
    checkpoint.set_model(music.music_model("sgd", units=3, seed=0))
    checkpoint.on_train_begin()
    with pytest.warns(
        UserWarning, match="monitors `val_loss`.*Available: \\['loss'\\]"
    ):
        checkpoint.on_epoch_end(0, {"loss": 1.0})
    assert checkpoint.best is None and checkpoint.epochs_done == 1


def test_mode_max_keeps_the_highest_value(tmp_path):
    checkpoint = callbacks.TrainingCheckpoint(
        tmp_path, monitor="val_accuracy", mode="max"
    )
    checkpoint.set_model(music.music_model("sgd", units=3, seed=0))
    checkpoint.on_train_begin()
    for epoch, accuracy in enumerate([0.5, 0.7, 0.6]):
        checkpoint.on_epoch_end(epoch, {"val_accuracy": accuracy})
    assert (checkpoint.best, checkpoint.best_epoch) == (0.7, 1)
    auto = callbacks.TrainingCheckpoint(tmp_path / "auto", monitor="val_accuracy")
    auto.set_model(checkpoint.model)
    auto.on_train_begin()
    with pytest.raises(ValueError, match="Pass `mode='min'`"):
        auto.on_epoch_end(0, {"val_accuracy": 0.5})


def test_a_run_a_callback_stopped_is_saved_as_finished(tmp_path):
    x = np.ones((4, 2), "float32")

    def session():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.01), "mse")
        halving = callbacks.HalveLearningRateOnPlateau(
            "loss", patience=1, max_halvings=0, stop_when_exhausted=True, min_delta=9.0
        )
        checkpoint = callbacks.TrainingCheckpoint(tmp_path, callbacks=[halving])
        start = checkpoint.restore(model)
        if not checkpoint.finished:
            model.fit(
                x,
                x[:, :1],
                initial_epoch=start,
                epochs=10,
                verbose=0,
                callbacks=[halving, checkpoint],
            )
        return checkpoint, model.get_weights()

    first, weights = session()
    assert first.finished and first.epochs_done == 2
    second, again = session()
    assert second.finished and second.epochs_done == 2
    for a, b in zip(weights, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_callback_stop_on_the_epoch_of_the_time_limit_is_finished(tmp_path):
    # Each epoch takes 10 s of the fake clock; the limit (25 s) falls on the
    # second epoch, where EarlyStopping (placed before) stops the run too.
    x = np.ones((4, 2), "float32")
    ticks = itertools.count(0.0, 10.0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.0), "mse")
    stop = keras.callbacks.EarlyStopping("loss", patience=1, min_delta=1.0)
    checkpoint = callbacks.TrainingCheckpoint(
        tmp_path, time_limit=25.0, clock=lambda: next(ticks)
    )
    model.fit(x, x[:, :1], epochs=10, verbose=0, callbacks=[stop, checkpoint])
    assert checkpoint.epochs_done == 2 and not checkpoint.stopped_by_time_limit
    assert checkpoint.finished
    again = callbacks.TrainingCheckpoint(tmp_path)
    again.restore(model)
    assert again.finished


def _fake_clock_fit(tmp_path, epochs, extra=(), limit=25.0):
    """A run whose epochs take 10 s of a fake clock, limit `limit` s."""
    x = np.ones((4, 2), "float32")
    ticks = itertools.count(0.0, 10.0)
    clock = lambda: next(ticks)  # noqa: E731
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.0), "mse")
    checkpoint = callbacks.TrainingCheckpoint(tmp_path, time_limit=limit, clock=clock)
    model.fit(x, x[:, :1], epochs=epochs, verbose=0, callbacks=[*extra, checkpoint])
    return checkpoint


def test_the_time_limit_on_the_last_epoch_stops_nothing(tmp_path):
    checkpoint = _fake_clock_fit(tmp_path, epochs=2)
    assert checkpoint.epochs_done == 2 and not checkpoint.stopped_by_time_limit


def test_a_time_budget_stop_is_a_time_limit_stop(tmp_path):
    ticks = itertools.count(0.0, 10.0)
    budget = callbacks.TimeBudget(25.0, clock=lambda: next(ticks))
    checkpoint = _fake_clock_fit(tmp_path, epochs=10, extra=[budget], limit=None)
    assert checkpoint.epochs_done == 2 and checkpoint.stopped_by_time_limit
    assert not checkpoint.finished
    saved = json.loads((tmp_path / "state.json").read_text())
    assert not saved["finished"] and saved["epochs_done"] == 2


def test_a_time_budget_on_the_last_epoch_or_after_convergence_stops_nothing(tmp_path):
    ticks = itertools.count(0.0, 10.0)
    budget = callbacks.TimeBudget(25.0, clock=lambda: next(ticks))
    last = _fake_clock_fit(tmp_path / "a", epochs=2, extra=[budget], limit=None)
    assert not last.stopped_by_time_limit
    # Not finished either, as with its own limit: a later fit trains it on.
    assert not last.finished
    assert not json.loads((tmp_path / "a" / "state.json").read_text())["finished"]
    # A callback before it ended the run on the epoch it trips.
    ticks = itertools.count(0.0, 10.0)
    budget = callbacks.TimeBudget(25.0, clock=lambda: next(ticks))
    stop = keras.callbacks.EarlyStopping("loss", patience=1, min_delta=1.0)
    ended = _fake_clock_fit(tmp_path / "b", epochs=10, extra=[stop, budget], limit=None)
    assert ended.epochs_done == 2 and ended.finished
    assert not ended.stopped_by_time_limit
    # Its flag does not outlive its fit: a later fit without it is not
    # stopped for time.
    x = np.ones((4, 2), "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.0), "mse")
    ticks = itertools.count(0.0, 10.0)
    budget = callbacks.TimeBudget(25.0, clock=lambda: next(ticks))
    model.fit(x, x[:, :1], epochs=10, verbose=0, callbacks=[budget])
    again = callbacks.TrainingCheckpoint(tmp_path / "c")
    model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[again])
    assert not again.stopped_by_time_limit


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"every_seconds": 0}, ValueError, "`every_seconds` must be a positive float"),
        ({"mode": "best"}, ValueError, r"`mode` must be one of \('auto', 'min'"),
        ({"time_limit": -1.0}, ValueError, "`time_limit` must be a positive float or"),
        ({"callbacks": [object()]}, TypeError, "with `get_state` and `set_state`"),
        ({"monitor": ""}, ValueError, "`monitor` must be the name of a logged"),
        ({"clock": 3}, TypeError, "Argument `clock` must be callable"),
    ],
)
def test_rejects_bad_arguments(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        callbacks.TrainingCheckpoint(tmp_path, **kwargs)


def test_restore_enters_the_models_strategy(tmp_path):
    # Outside the scope, the optimizer's build failed half-way and left it
    # built without its slots ("does not match the optimizer" on a retry).
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    x = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")

    def run():
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
            model.compile(keras.optimizers.Adam(0.1), "mse")
        return model

    model = run()
    model.fit(
        x,
        x[:, :1],
        epochs=2,
        batch_size=4,
        verbose=0,
        callbacks=[callbacks.TrainingCheckpoint(tmp_path)],
    )
    resumed = run()
    assert callbacks.TrainingCheckpoint(tmp_path).restore(resumed) == 2
    for a, b in zip(resumed.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
