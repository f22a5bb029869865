"""A callback that sets the Omega weight alpha of every Omega layer each epoch."""

import keras

from keras_rnncr import _validation
from keras_rnncr.callbacks import _config
from keras_rnncr.callbacks._layers import inner_layers
from keras_rnncr.layers.omega_rnn import OmegaMixin, check_omega


def omega_layers(model):
    """All Omega layers inside `model`, including those wrapped in other layers."""
    return [layer for layer in inner_layers(model) if isinstance(layer, OmegaMixin)]


@keras.saving.register_keras_serializable(package="keras_rnncr")
class InverseTimeOmega:
    """The paper's schedule for the natural tasks: `alpha_t = initial / t`.

    `t` counts epochs from 1, so epoch index `e` (from 0) gets
    `initial / (e + 1)`. The paper uses `initial=0.5` (alpha = 1/(2t)) for
    Piano-midi.de and Nottingham and `initial=0.1` for MuseData.

    Reference: Pascanu, Mikolov & Bengio, ICML 2013, §4.2: "keeping the
    regularization weight fixed ... seems to harm learning. One needs to use a 1/t
    decreasing schedule."

    Args:
        initial: finite float >= 0, alpha at the first epoch (0: alpha stays
            0, as a layer built with `omega=0` allows).
    """

    def __init__(self, initial):
        self.initial = _validation.check_non_negative_float("initial", initial)

    def __call__(self, epoch):
        return self.initial / (epoch + 1)

    def get_config(self):
        return {"initial": self.initial}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_layers(layers):
    """`layers` as a list, if it is a list or tuple of layers that train
    through Omega's pass; else a `ValueError` naming the argument."""
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError(
            "Argument `layers` must be None or a non-empty list of keras_rnncr "
            f"Omega layers. Received: layers={layers!r}"
        )
    for layer in layers:
        if not isinstance(layer, OmegaMixin):
            raise ValueError(
                "Argument `layers` must hold keras_rnncr Omega layers "
                "(keras_rnncr.layers.SimpleRNN/RNN/GRU/LSTM); "
                f"{getattr(layer, 'name', layer)!r} is a {type(layer).__name__}."
            )
        if not layer.omega_metrics:
            raise ValueError(
                f"Argument `layers`: {layer.name!r} was built with omega=0 and "
                "trains with Keras's own code, so alpha cannot be scheduled on "
                "it; build it with omega=<alpha at the first epoch> or "
                "omega_metrics=True."
            )
    return list(layers)


@keras.saving.register_keras_serializable(package="keras_rnncr")
class OmegaScheduler(_config.ConfigMixin, keras.callbacks.Callback):
    """Sets `layer.omega` of the model's Omega layers at the start of each epoch.

    The weight lives in a variable, so changing it does not retrace the training
    function. The value in force is written to the logs as `<layer>_alpha`, so it
    reaches History, the progress bar and TensorBoard.

    Only layers that train through Omega's pass can be scheduled: those built
    with `omega > 0` (the alpha of the first epoch, say) or
    `omega_metrics=True`. A layer built with `omega=0` trains with the Keras
    layer's own code; the scheduler leaves it out (no `<layer>_alpha`, and the
    layer logs no `<layer>_omega`), and finding no other layer is an error.

    Args:
        schedule: callable `schedule(epoch) -> alpha` with `epoch` counted from
            0, e.g. `InverseTimeOmega(0.5)` for the paper's alpha = 1/(2t).
        layers: the Omega layers to schedule; `None` (default) finds every Omega
            layer in the model that trains through Omega's pass, including
            inside `Bidirectional`.

    Example:

    >>> scheduler = keras_rnncr.callbacks.OmegaScheduler(
    ...     keras_rnncr.callbacks.InverseTimeOmega(0.5)
    ... )
    >>> # model.fit(x, y, epochs=10, callbacks=[scheduler])
    """

    _CONFIG = ("schedule", "layers")

    def __init__(self, schedule, layers=None):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "Argument `schedule` must be a callable epoch -> alpha. "
                f"Received: schedule={schedule!r}"
            )
        self.schedule = schedule
        self.layers = None if layers is None else _check_layers(layers)

    def get_config(self):
        if self.layers is not None:
            raise ValueError(
                "OmegaScheduler with `layers` has no config: a config cannot "
                "refer to the layers of a model. Build it with `layers=None` "
                "(every Omega layer that trains through Omega's pass) to "
                "serialize it."
            )
        return super().get_config()

    def _targets(self):
        if self.layers is not None:
            return self.layers
        found = omega_layers(self.model)
        targets = [layer for layer in found if layer.omega_metrics]
        if not targets:
            hint = (
                "pass `layers=` or use keras_rnncr.layers.SimpleRNN/RNN/GRU/LSTM"
                if not found
                else "its Omega layers were built with omega=0 and train with "
                "Keras's own code; build them with omega=<alpha at the first "
                "epoch> or omega_metrics=True"
            )
            raise ValueError(
                "OmegaScheduler found no keras_rnncr Omega layer in the model that "
                f"trains through Omega's pass: {hint}."
            )
        return targets

    def on_epoch_begin(self, epoch, logs=None):
        value = self.schedule(epoch)
        try:
            alpha = check_omega(value)
        except ValueError:
            raise ValueError(
                "Argument `schedule` must return a finite float >= 0 (alpha) for "
                f"every epoch. Received: {value!r} for epoch {epoch}"
            ) from None
        for layer in self._targets():
            layer.omega = alpha

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for layer in self._targets():
                logs[f"{layer.name}_alpha"] = layer.omega
