"""The paper's three training methods, SGD, SGD-C and SGD-CR, in one place.

Pascanu, Mikolov & Bengio, ICML 2013, §4 compare, on every task, plain
minibatch SGD without momentum (`"sgd"`), SGD with the gradient-norm clipping of
Algorithm 1 (`"sgd-c"`, §3.2) and SGD with clipping and the Omega regularizer
of Eq. (10) (`"sgd-cr"`, §3.3). A method decides two things of a model's
training, and `training_setup` is where they are decided:

```
method    layer's alpha   optimizer
"sgd"     0               SGD(learning_rate)
"sgd-c"   0               ClippedOptimizer(SGD(learning_rate), threshold)
"sgd-cr"  omega           ClippedOptimizer(SGD(learning_rate), threshold)
```

The model factories (`keras_rnncr.tasks.task_model`,
`keras_rnncr.music.music_model`, `keras_rnncr.text.char_model`) build their
layers and optimizers with it.
"""

import collections

import keras

from keras_rnncr import _validation
from keras_rnncr.optimizers.clipping import ClippedOptimizer, check_threshold

METHODS = ("sgd", "sgd-c", "sgd-cr")

TrainingSetup = collections.namedtuple("TrainingSetup", ["omega", "optimizer"])
TrainingSetup.__doc__ = """What a method sets in a model: `(omega, optimizer)`.

Attributes:
    omega: float, the weight alpha of Omega to give the recurrent layer
        (`omega=` of `keras_rnncr.layers.SimpleRNN`); 0 unless `"sgd-cr"`.
    optimizer: the `keras.optimizers.Optimizer` to compile the model with.
"""


def check_method(method):
    """Returns `method` if it is one of `METHODS`, else raises `ValueError`.

    Args:
        method: `"sgd"`, `"sgd-c"` or `"sgd-cr"`.

    Returns:
        `method`.
    """
    if method not in METHODS:
        raise ValueError(
            f"Argument `method` must be one of {METHODS}. Received: method={method!r}"
        )
    return method


def uses_clipping(method):
    """Whether `method` clips the gradient norm (`"sgd-c"` and `"sgd-cr"`)."""
    return check_method(method) != "sgd"


def uses_omega(method):
    """Whether `method` adds the Omega regularizer (`"sgd-cr"`)."""
    return check_method(method) == "sgd-cr"


def training_setup(method, learning_rate, threshold=None, omega=0.0, **clipping_kwargs):
    """The layer's Omega weight and the optimizer of a method.

    Args:
        method: `"sgd"`, `"sgd-c"` (clipping) or `"sgd-cr"` (clipping + Omega).
        learning_rate: the SGD learning rate (float or a
            `keras.optimizers.schedules.LearningRateSchedule`).
        threshold: the clipping threshold of `ClippedOptimizer` (a positive
            float or an adaptive rule of `keras_rnncr.optimizers`); needed by
            `"sgd-c"` and `"sgd-cr"`, not used by `"sgd"` (None, or a value
            these would take).
        omega: the weight alpha of Omega (a float >= 0) for `"sgd-cr"`; not
            used otherwise. Defaults to 0.
        **clipping_kwargs: other arguments of `ClippedOptimizer` (e.g.
            `nonfinite`), for `"sgd-c"` and `"sgd-cr"`.

    Returns:
        `TrainingSetup(omega, optimizer)`: `omega` for `"sgd-cr"` and 0.0
        otherwise; `keras.optimizers.SGD(learning_rate)` (no momentum), wrapped
        in `ClippedOptimizer(..., threshold=threshold, **clipping_kwargs)`
        for `"sgd-c"` and `"sgd-cr"`.

    Example:

    >>> setup = training_setup("sgd-cr", 0.01, threshold=1.0, omega=4.0)
    >>> setup.omega, type(setup.optimizer).__name__
    (4.0, 'ClippedOptimizer')
    """
    check_method(method)
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = _validation.check_positive_float("learning_rate", learning_rate)
    # Checked for every method, so that a bad value is not silently unused.
    omega = _validation.check_non_negative_float("omega", omega)
    if threshold is not None or uses_clipping(method):
        threshold = check_threshold(threshold)
    optimizer = keras.optimizers.SGD(learning_rate)
    if uses_clipping(method):
        optimizer = ClippedOptimizer(optimizer, threshold=threshold, **clipping_kwargs)
    return TrainingSetup(omega if uses_omega(method) else 0.0, optimizer)
