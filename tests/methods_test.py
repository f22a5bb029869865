"""Tests for `keras_rnncr.methods`: the names, their check and each set-up."""

import keras
import pytest

import keras_rnncr
from keras_rnncr import methods
from keras_rnncr.optimizers import ClippedOptimizer


def test_the_paper_s_three_methods():
    assert methods.METHODS == ("sgd", "sgd-c", "sgd-cr")
    assert keras_rnncr.tasks.METHODS is methods.METHODS
    assert keras_rnncr.music.METHODS is methods.METHODS
    assert keras_rnncr.text.METHODS is methods.METHODS


@pytest.mark.parametrize(
    "method, clipping, omega",
    [("sgd", False, 0.0), ("sgd-c", True, 0.0), ("sgd-cr", True, 4.0)],
)
def test_training_setup(method, clipping, omega):
    setup = methods.training_setup(
        method, 0.05, threshold=2.0, omega=4.0, nonfinite="shrink"
    )
    assert setup.omega == omega
    assert methods.uses_clipping(method) == clipping
    assert methods.uses_omega(method) == (method == "sgd-cr")
    optimizer = setup.optimizer
    if clipping:
        assert isinstance(optimizer, ClippedOptimizer)
        assert optimizer.threshold == pytest.approx(2.0)
        assert optimizer.nonfinite == "shrink"
        optimizer = optimizer.inner_optimizer
    assert type(optimizer) is keras.optimizers.SGD
    assert optimizer.momentum == 0.0
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: methods.check_method(m),
        lambda m: methods.uses_clipping(m),
        lambda m: methods.uses_omega(m),
        lambda m: methods.training_setup(m, 0.01, threshold=1.0),
    ],
)
def test_unknown_method(call):
    message = (
        r"Argument `method` must be one of \('sgd', 'sgd-c', 'sgd-cr'\). "
        r"Received: method='adam'"
    )
    with pytest.raises(ValueError, match=message):
        call("adam")


@pytest.mark.parametrize("learning_rate", [float("nan"), -1.0, 0.0, "0.1"])
def test_training_setup_refuses_a_bad_learning_rate(learning_rate):
    with pytest.raises(ValueError, match="Argument `learning_rate` must be a positive"):
        methods.training_setup("sgd-c", learning_rate, threshold=1.0)


@pytest.mark.parametrize("omega", [float("nan"), -0.5])
def test_training_setup_refuses_a_bad_omega(omega):
    with pytest.raises(ValueError, match="Argument `omega` must be a non-negative"):
        methods.training_setup("sgd-cr", 0.1, threshold=1.0, omega=omega)


def test_training_setup_takes_a_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    setup = methods.training_setup("sgd", schedule)
    assert setup.optimizer.learning_rate is not None


def test_training_setup_checks_arguments_sgd_does_not_use():
    with pytest.raises(ValueError, match="Argument `threshold` must be a positive"):
        methods.training_setup("sgd", 0.1, threshold=-1.0)
    with pytest.raises(ValueError, match="Argument `omega` must be a non-negative"):
        methods.training_setup("sgd-c", 0.1, threshold=1.0, omega=-1.0)
    assert methods.training_setup("sgd", 0.1).omega == 0.0
