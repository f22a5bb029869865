"""Every callback serializes: registered, and rebuilt from its config."""

import json

import keras
import pytest

from keras_rnncr import callbacks


def _round_trip(callback):
    config = keras.saving.serialize_keras_object(callback)
    json.dumps(config)
    return keras.saving.deserialize_keras_object(config)


@pytest.mark.parametrize(
    "callback",
    [
        callbacks.ClippingLogger(),
        callbacks.SpectralRadiusLogger(),
        callbacks.TimeBudget(120.0),
        callbacks.HalveLearningRateOnIncrease("val_loss", 0.25, 0.01, 1e-4, 1, "min"),
        callbacks.HalveLearningRateOnPlateau(
            "val_bits_per_character",
            patience=3,
            factor=0.3,
            min_delta=0.01,
            max_halvings=4,
            min_learning_rate=1e-5,
            stop_when_exhausted=True,
            verbose=1,
            min_delta_mode="relative",
            mode="min",
        ),
        callbacks.OmegaScheduler(callbacks.InverseTimeOmega(0.5)),
        callbacks.RNNDiagnostics("logs/x", update_freq=10),
    ],
    ids=lambda callback: type(callback).__name__,
)
def test_callback_config_round_trip(callback):
    name = keras.saving.get_registered_name(type(callback))
    assert name == f"keras_rnncr>{type(callback).__name__}"
    restored = _round_trip(callback)
    assert type(restored) is type(callback)
    assert restored.get_config() == callback.get_config()


def test_training_checkpoint_config_keeps_its_callbacks(tmp_path):
    halving = callbacks.HalveLearningRateOnPlateau("val_loss", patience=2)
    checkpoint = callbacks.TrainingCheckpoint(
        tmp_path,
        every_seconds=60,
        time_limit=3600,
        callbacks=[halving],
        monitor="val_loss",
        mode="min",
    )
    restored = _round_trip(checkpoint)
    assert str(restored.directory) == str(tmp_path)
    assert (restored.every_seconds, restored.time_limit, restored.monitor) == (
        60.0,
        3600.0,
        "val_loss",
    )
    [inner] = restored.callbacks
    assert isinstance(inner, callbacks.HalveLearningRateOnPlateau)
    assert inner.get_config() == halving.get_config()


def test_omega_scheduler_with_layers_says_why_it_has_no_config():
    import keras_rnncr

    layer = keras_rnncr.layers.SimpleRNN(2, omega=1.0)
    scheduler = callbacks.OmegaScheduler(callbacks.InverseTimeOmega(1.0), [layer])
    with pytest.raises(ValueError, match="OmegaScheduler with `layers` has no config"):
        scheduler.get_config()


def test_a_built_in_clock_is_refused_by_name_and_numpy_numbers_are_plain():
    import time

    import numpy as np

    with pytest.raises(ValueError, match="Argument `clock` has no config"):
        callbacks.TimeBudget(5.0, clock=time.time).get_config()
    halving = callbacks.HalveLearningRateOnIncrease(verbose=np.int64(1))
    assert halving.get_config()["verbose"] == 1
    assert type(halving.get_config()["verbose"]) is int
