"""Callbacks that halve the learning rate: on a rise, or on a validation plateau."""

import math

import keras
import numpy as np

from keras_rnncr import _validation
from keras_rnncr.callbacks import _config, _monitor

# How `HalveLearningRateOnPlateau` reads `min_delta`.
MIN_DELTA_MODES = ("absolute", "relative")


@keras.saving.register_keras_serializable(package="keras_rnncr")
class HalveLearningRateOnIncrease(_config.ConfigMixin, keras.callbacks.Callback):
    """Multiplies the learning rate by `factor` when a logged error gets worse.

    The natural-task schedule of Pascanu, Mikolov & Bengio, ICML 2013 (arXiv
    v2 appendix, polyphonic music): initial learning rate 1.0 (0.5 for
    MuseData), "halved whenever the epoch error increases".

    ```python
    # previous = the last finite value; mode "min": worse means higher
    if not isfinite(logs[monitor]) or logs[monitor] > previous + min_delta:
        learning_rate = max(learning_rate * factor, min_learning_rate)
    ```

    A value that is not finite (NaN) counts as worse and is not kept as the
    previous value. An epoch whose logs lack `monitor` (e.g. one without
    validation under `fit(validation_freq=...)`) is skipped with a warning,
    as `keras.callbacks.ReduceLROnPlateau` does. The previous value is kept
    across `fit` calls, can be read and set with `get_state` / `set_state`
    (so that `keras_rnncr.callbacks.TrainingCheckpoint` resumes it) and is
    cleared by `reset_state`.

    Unlike `keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=0)`, which
    compares with the best value so far (and so halves again at every epoch
    that does not beat the best), this compares each epoch with the one just
    before it, which is what the paper describes. The learning rate in force
    for the next epoch is written to the logs as `learning_rate`.

    Warning: with noisy epoch errors this rule halves at every upward
    fluctuation, whether or not training has stopped progressing. In 41
    epochs of 100 updates on Nottingham (SGD-CR, batch 4), the training error
    of the epoch rose 13 times while the validation NLL fell from 6.95 to
    4.27 nats: this rule would have cut the learning rate from 1.0 to 1.2e-4
    in that time (issue 14). The music and text models use
    `HalveLearningRateOnPlateau` instead.

    Args:
        monitor: str, the log entry to watch. Defaults to `"loss"`, the
            training error of the epoch; `"val_loss"` watches the validation
            error instead (needs validation data).
        factor: float in (0, 1), the multiplier. Defaults to `0.5`.
        min_delta: float >= 0, a change for the worse must exceed it to
            count. Defaults to 0.
        min_learning_rate: float >= 0, the learning rate never goes below it;
            a halving that would not lower it is not made. Defaults to 0.
        mode: `"auto"` (default), `"min"` or `"max"`: whether lower or higher
            values are better. `"auto"` is `"min"` for a loss and otherwise
            the direction of the compiled metric of that name (an error if it
            has none), as in Keras's callbacks.
        verbose: int, 1 prints a line at every change. Defaults to 0.

    Example:

    >>> halving = keras_rnncr.callbacks.HalveLearningRateOnIncrease("val_loss")
    >>> # model.fit(x, y, validation_data=..., callbacks=[halving])
    """

    _CONFIG = (
        "monitor",
        "factor",
        "min_delta",
        "min_learning_rate",
        "verbose",
        "mode",
    )

    def __init__(
        self,
        monitor="loss",
        factor=0.5,
        min_delta=0.0,
        min_learning_rate=0.0,
        verbose=0,
        mode="auto",
    ):
        super().__init__()
        self.monitor = _check_monitor(monitor)
        self.mode = _monitor.check_mode(mode)
        self.factor = _validation.check_float_in_range("factor", factor, 0, 1)
        self.min_delta = _validation.check_non_negative_float("min_delta", min_delta)
        self.min_learning_rate = _validation.check_non_negative_float(
            "min_learning_rate", min_learning_rate
        )
        self.verbose = _check_verbose(verbose)
        self.reset_state()

    def on_train_begin(self, logs=None):
        _check_settable(self, self.model.optimizer)

    def reset_state(self):
        """Forgets the previous value."""
        self.previous = None

    def get_state(self):
        """The rule's state as a JSON-serializable dict."""
        return {"previous": self.previous}

    def set_state(self, state):
        """Restores a state from `get_state` (the learning rate itself lives in
        the optimizer)."""
        previous = state["previous"]
        self.previous = None if previous is None else float(previous)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        learning_rate = _learning_rate(optimizer)
        current = _monitor.monitored(self, logs, epoch)
        if current is not None:
            way = _monitor.direction(self, self.model)
            finite = math.isfinite(current)
            if not finite:
                worse = True
            elif self.previous is None:
                worse = False
            else:  # the previous value beats this one by more than min_delta
                worse = _monitor.better(self.previous, current, self.min_delta, way)
            if worse:
                new_rate = max(learning_rate * self.factor, self.min_learning_rate)
                if _lowers(new_rate, learning_rate):
                    optimizer.learning_rate = new_rate
                    if self.verbose:
                        print(
                            f"\nEpoch {epoch + 1}: {self.monitor} went from "
                            f"{self.previous} to {current:.4f}; learning rate "
                            f"{learning_rate:g} -> {new_rate:g}."
                        )
                    learning_rate = new_rate
            if finite:
                self.previous = current
        logs["learning_rate"] = learning_rate


@keras.saving.register_keras_serializable(package="keras_rnncr")
class HalveLearningRateOnPlateau(_config.ConfigMixin, keras.callbacks.Callback):
    """Halves the learning rate when a validation error stops improving.

    The learning-rate schedule of the music and text models. Pascanu, Mikolov
    & Bengio, ICML 2013 (arXiv v2 appendix) halve the learning rate "whenever
    the epoch error increases" without saying which error or how often it is
    measured; taken literally (`HalveLearningRateOnIncrease`), that rule
    reacts to every upward fluctuation of a noisy epoch error. Measured on
    Nottingham (SGD-CR, batch 4, 41 epochs of 100 updates, issue 14), the
    training error of the epoch rose 13 times and the validation NLL 11
    times while the validation NLL fell from 6.95 to 4.27 nats: halving at
    every rise would have cut the rate from 1.0 to 1.2e-4 (training error)
    or 4.9e-4 (validation NLL) while the model was still learning quickly,
    and issue 14 reports runs that ended at the trivial baselines that way
    (the literal rule on the validation error reached the key-frequency
    baseline to 0.01 nats). The fluctuations are short: in that run the
    validation NLL never went more than 2 epochs without a new best. Here a
    halving needs `patience` epochs in a row without a new best (by more than
    `min_delta`, or by more than the fraction `min_delta` of the best with
    `min_delta_mode="relative"`), the count restarts after each halving, and
    at most `max_halvings` are made:

    ```python
    margin = min_delta if min_delta_mode == "absolute" else min_delta * abs(best)
    if logs[monitor] < best - margin:          # mode "min"; "max": > best + margin
        best, wait = logs[monitor], 0
    else:
        wait += 1
        if wait >= patience and halvings < max_halvings:
            learning_rate = max(learning_rate * factor, min_learning_rate)
            halvings, wait = halvings + 1, 0
        elif wait >= patience and stop_when_exhausted:
            model.stop_training = True     # converged: no halving left
    ```

    A value that is not finite (NaN) counts as no improvement. An epoch whose
    logs lack `monitor` (e.g. one without validation under
    `fit(validation_freq=...)`) is skipped with a warning, as
    `keras.callbacks.ReduceLROnPlateau` does. The rate in force for the next
    epoch is written to the logs as `learning_rate`, the number of halvings so
    far as `halvings`.

    Unlike `keras.callbacks.ReduceLROnPlateau`, the state (best value,
    epochs without improvement, halvings) is kept across `fit` calls, can be
    read and set with `get_state` / `set_state` (so that a resumed run,
    `keras_rnncr.callbacks.TrainingCheckpoint`, continues the schedule where it
    stopped) and is cleared by `reset_state`; the number of halvings is
    capped, and training can stop once none is left.

    Args:
        monitor: str, the log entry to watch. Defaults to `"val_loss"`.
        patience: positive int, epochs without a new best before a halving.
            Defaults to 5.
        factor: float in (0, 1), the multiplier. Defaults to `0.5`.
        min_delta: float >= 0, the improvement a new best must exceed.
            Defaults to 0.
        min_delta_mode: `"absolute"` (default: `min_delta` in the monitored
            quantity's units) or `"relative"` (`min_delta` a fraction, below
            1, of the absolute best value so far; similar to the
            `min_improvement` of Mikolov's RNNLM toolkit, which compares each
            epoch with the previous one).
        max_halvings: int >= 0 or None (no limit), the most halvings.
            Defaults to `None`.
        min_learning_rate: float >= 0, the learning rate never goes below it;
            a halving that would not lower it is not made (nor counted).
            Defaults to 0.
        stop_when_exhausted: bool, stop training when a plateau of `patience`
            epochs is reached with no halving left. Defaults to `False`.
        verbose: int, 1 prints a line at every halving or stop. Defaults to 0.
        mode: `"auto"` (default), `"min"` or `"max"`: whether lower or higher
            values are better. `"auto"` is `"min"` for a loss and otherwise
            the direction of the compiled metric of that name (an error if it
            has none), as in Keras's callbacks.

    Example:

    >>> halving = keras_rnncr.callbacks.HalveLearningRateOnPlateau(
    ...     "val_loss", patience=5, max_halvings=6
    ... )
    >>> # model.fit(x, y, validation_data=..., callbacks=[halving])
    """

    _CONFIG = (
        "monitor",
        "patience",
        "factor",
        "min_delta",
        "max_halvings",
        "min_learning_rate",
        "stop_when_exhausted",
        "verbose",
        "min_delta_mode",
        "mode",
    )

    def __init__(
        self,
        monitor="val_loss",
        patience=5,
        factor=0.5,
        min_delta=0.0,
        max_halvings=None,
        min_learning_rate=0.0,
        stop_when_exhausted=False,
        verbose=0,
        min_delta_mode="absolute",
        mode="auto",
    ):
        super().__init__()
        self.monitor = _check_monitor(monitor)
        self.mode = _monitor.check_mode(mode)
        self.patience = _validation.check_positive_int("patience", patience)
        self.factor = _validation.check_float_in_range("factor", factor, 0, 1)
        self.min_delta = _validation.check_non_negative_float("min_delta", min_delta)
        if min_delta_mode not in MIN_DELTA_MODES:
            raise ValueError(
                f"Argument `min_delta_mode` must be one of {MIN_DELTA_MODES}. "
                f"Received: min_delta_mode={min_delta_mode!r}"
            )
        if min_delta_mode == "relative" and self.min_delta >= 1:
            raise ValueError(
                'Argument `min_delta` must be below 1 with min_delta_mode="relative" '
                f"(a fraction of the best value). Received: min_delta={min_delta!r}"
            )
        self.min_delta_mode = min_delta_mode
        self.max_halvings = _validation.check_non_negative_int(
            "max_halvings", max_halvings, allow_none=True
        )
        self.min_learning_rate = _validation.check_non_negative_float(
            "min_learning_rate", min_learning_rate
        )
        self.stop_when_exhausted = _validation.check_bool(
            "stop_when_exhausted", stop_when_exhausted
        )
        self.verbose = _check_verbose(verbose)
        self.reset_state()

    def on_train_begin(self, logs=None):
        _check_settable(self, self.model.optimizer)

    def reset_state(self):
        """Forgets the best value, the epochs without improvement and halvings."""
        self.best = None
        self.wait = 0
        self.halvings = 0
        self.stopped_epoch = None

    def get_state(self):
        """The schedule's state as a JSON-serializable dict."""
        return {
            "best": self.best,
            "wait": self.wait,
            "halvings": self.halvings,
            "stopped_epoch": self.stopped_epoch,
        }

    def set_state(self, state):
        """Restores a state from `get_state` (the learning rate itself lives in
        the optimizer)."""
        self.best = None if state["best"] is None else float(state["best"])
        self.wait = int(state["wait"])
        self.halvings = int(state["halvings"])
        stopped = state.get("stopped_epoch")
        self.stopped_epoch = None if stopped is None else int(stopped)

    def _margin(self):
        """How much a new best must improve on `best`."""
        if self.min_delta_mode == "relative":
            return self.min_delta * abs(self.best)
        return self.min_delta

    def _can_halve(self, learning_rate):
        if self.max_halvings is not None and self.halvings >= self.max_halvings:
            return False
        new_rate = max(learning_rate * self.factor, self.min_learning_rate)
        return _lowers(new_rate, learning_rate)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        learning_rate = _learning_rate(optimizer)
        current = _monitor.monitored(self, logs, epoch)
        if current is not None:
            learning_rate = self._step(epoch, current, learning_rate)
        logs["learning_rate"] = learning_rate
        logs["halvings"] = self.halvings

    def _step(self, epoch, current, learning_rate):
        """Counts the epoch, halves or stops; returns the rate now in force."""
        optimizer = self.model.optimizer
        way = _monitor.direction(self, self.model)
        margin = None if self.best is None else self._margin()
        if _monitor.better(current, self.best, margin, way):
            self.best, self.wait = current, 0
        else:
            self.wait += 1
        if self.wait >= self.patience:
            if self._can_halve(learning_rate):
                new_rate = max(learning_rate * self.factor, self.min_learning_rate)
                optimizer.learning_rate = new_rate
                self.halvings += 1
                self.wait = 0
                if self.verbose:
                    print(
                        f"\nEpoch {epoch + 1}: {self.monitor} has not improved on "
                        f"{self.best} for {self.patience} epochs; learning rate "
                        f"{learning_rate:g} -> {new_rate:g} (halving "
                        f"{self.halvings})."
                    )
                learning_rate = new_rate
            elif self.stop_when_exhausted:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                if self.verbose:
                    print(
                        f"\nEpoch {epoch + 1}: {self.monitor} has not improved on "
                        f"{self.best} for {self.patience} epochs and no halving is "
                        "left: training stops."
                    )
        return learning_rate


def _check_monitor(monitor):
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(
            "Argument `monitor` must be the name of a logged quantity. "
            f"Received: monitor={monitor!r}"
        )
    return monitor


def _check_verbose(verbose):
    """A number >= 0 or a bool, as Keras's callbacks read it (`verbose > 0`)."""
    if isinstance(verbose, bool | np.bool_):
        return int(verbose)
    if not _validation.is_float(verbose) or verbose < 0:
        raise ValueError(
            "Argument `verbose` must be a non-negative number (0: silent, 1: a "
            f"line at every change). Received: verbose={verbose!r}"
        )
    return verbose


def _check_settable(callback, optimizer):
    """Refuses, before the first epoch, an optimizer whose learning rate cannot
    be set (one built with a `LearningRateSchedule`), which would otherwise
    fail at the first halving, possibly hours into training."""
    try:
        optimizer.learning_rate = _learning_rate(optimizer)
    except (TypeError, AttributeError) as error:
        raise TypeError(
            f"{type(callback).__name__} halves the optimizer's learning rate, "
            "so the optimizer needs a float learning rate; this one was built "
            "with a `keras.optimizers.schedules.LearningRateSchedule` or a "
            f"callable, whose rate cannot be set. ({error})"
        ) from None


def _lowers(new_rate, learning_rate):
    """Whether `new_rate` is a real change: the rate is read back from a float32
    variable, so a "halving" to the floor must lower it by more than rounding."""
    return new_rate < learning_rate * (1 - 1e-6)


def _learning_rate(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
