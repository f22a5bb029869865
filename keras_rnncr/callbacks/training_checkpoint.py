"""A callback that checkpoints a whole training run and resumes it where it stopped."""

import contextlib
import json
import os
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from keras_rnncr import _validation
from keras_rnncr.callbacks import _config, _monitor
from keras_rnncr.callbacks.time_budget import STOPPED_FOR_TIME

_STATE = "state.json"
_VARIABLES = "variables.npz"
_BEST = "best.npz"
_FORMAT = 1


@keras.saving.register_keras_serializable(package="keras_rnncr")
class TrainingCheckpoint(_config.ConfigMixin, keras.callbacks.Callback):
    """Saves a run every few minutes, stops it at a wall-clock limit, resumes it.

    At the end of an epoch, at most every `every_seconds`, it writes to
    `directory`:

    - every variable of the model (weights, non-trainable variables, seed
      generator states) and of its optimizer (iterations, learning rate, the
      clipping statistics of `ClippedOptimizer`), `variables.npz`;
    - the number of epochs done, the logs of every epoch (`history`), and the
      state of the `callbacks` given (e.g. `HalveLearningRateOnPlateau`'s
      best value, patience count and halvings), `state.json`;
    - with `monitor`, the model variables of the epoch with the best
      `logs[monitor]` so far (the lowest, or the highest with `mode="max"`),
      `best.npz` (written when it improves; an epoch whose logs lack
      `monitor`, e.g. one without validation, is skipped with a warning).

    When the next epoch would end after `time_limit` seconds of this `fit`
    (the elapsed time plus the longest epoch so far), it saves and stops
    training; `stopped_by_time_limit` is then `True`. A
    `keras_rnncr.callbacks.TimeBudget` placed before it counts the same way.
    On the last epoch of `fit`, or one a callback ended, the time limit stops
    nothing and `stopped_by_time_limit` stays `False`. Files are replaced
    atomically, so a run killed at any moment resumes from its last save.

    A later process resumes the run by calling `restore` before `fit`:

    ```python
    checkpoint = TrainingCheckpoint("runs/x", callbacks=[halving])
    initial_epoch = checkpoint.restore(model)      # 0 for a new run
    if not checkpoint.finished:                    # a callback ended the run
        model.fit(data, epochs=100, initial_epoch=initial_epoch,
                  callbacks=[halving, checkpoint]) # last: sees every log
    checkpoint.history                             # every epoch, old and new
    ```

    A run that a callback stopped (`model.stop_training`, e.g.
    `HalveLearningRateOnPlateau(stop_when_exhausted=True)` or
    `keras.callbacks.EarlyStopping`), rather than the time limit, is saved as
    `finished`; `fit` would otherwise train it on for at least another epoch.
    That holds when the time limit falls on the same epoch too, for the
    callbacks placed before this one (as they should be, see below); but not
    for a `TimeBudget`, whose stop is a time limit's (the run resumes).

    The resumed run is the uninterrupted one, epoch for epoch, when what the
    epoch depends on is restored or is a function of the epoch index: the data
    order must not depend on how many epochs this process has seen (e.g.
    `keras_rnncr.music.next_frame_epochs`, or the fixed order of
    `keras_rnncr.text.stream_dataset`), and schedules must be functions of the
    epoch (`OmegaScheduler`) or be listed in `callbacks`. Place this callback
    after the others, so that their logs and states are those of the epoch.

    Note: checkpoints are taken at epoch ends only; the state a stateful
    recurrent layer carries within an epoch is not saved (`ResetStreamStates`
    starts every epoch from zero).

    Args:
        directory: str or path, the folder of the checkpoint (created).
        every_seconds: positive float, the least time between two saves.
            Defaults to 300.
        time_limit: positive float or None, the seconds of training after
            which this `fit` saves and stops. Defaults to `None` (no limit).
        callbacks: callbacks with `get_state()` and `set_state(state)`, whose
            state is saved and restored. Defaults to none.
        monitor: str or None, the log entry whose best value marks the best
            epoch (e.g. `"val_loss"`). Defaults to `None`.
        mode: `"auto"` (default), `"min"` or `"max"`: whether lower or higher
            values of `monitor` are better. `"auto"` is `"min"` for a loss and
            otherwise the direction of the compiled metric of that name (an
            error if it has none), as in `keras.callbacks.ModelCheckpoint`.
        clock: callable returning seconds. Defaults to `time.monotonic`.

    Attributes:
        history: dict, log name to the list of its values at every epoch done.
        epochs_done: int, the epochs done (restored and trained).
        best, best_epoch: the best `monitor` value and its epoch (from 0).
        stopped_by_time_limit: bool, this `fit` stopped for time (its own
            limit or a `TimeBudget`) with epochs of the run still to train.
        finished: bool, a callback other than the time limit stopped the run
            (saved and restored).
    """

    _CONFIG = (
        "directory",
        "every_seconds",
        "time_limit",
        "callbacks",
        "monitor",
        "clock",
        "mode",
    )

    _stopped_by_callback = False

    def __init__(
        self,
        directory,
        every_seconds=300.0,
        time_limit=None,
        callbacks=(),
        monitor=None,
        clock=time.monotonic,
        mode="auto",
    ):
        super().__init__()
        self.directory = pathlib.Path(directory)
        self.every_seconds = _validation.check_positive_float(
            "every_seconds", every_seconds
        )
        self.time_limit = _validation.check_positive_float(
            "time_limit", time_limit, allow_none=True
        )
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not (hasattr(callback, "get_state") and hasattr(callback, "set_state")):
                raise TypeError(
                    "Argument `callbacks` must hold callbacks with `get_state` and "
                    f"`set_state`. Received: {type(callback).__name__}"
                )
        if monitor is not None and (not isinstance(monitor, str) or not monitor):
            raise ValueError(
                "Argument `monitor` must be the name of a logged quantity or None. "
                f"Received: monitor={monitor!r}"
            )
        self.monitor = monitor
        self.mode = _monitor.check_mode(mode)
        if not callable(clock):
            raise TypeError(f"Argument `clock` must be callable. Received: {clock!r}")
        self.clock = clock
        self.history = {}
        self.epochs_done = 0
        self.best = None
        self.best_epoch = None
        self.stopped_by_time_limit = False
        self.finished = False

    # ------------------------------------------------------------- restoring

    def exists(self):
        """Whether `directory` holds a checkpoint."""
        return (self.directory / _STATE).is_file()

    def restore(self, model):
        """Loads the checkpoint into `model`, its optimizer and the callbacks.

        Args:
            model: the compiled model of the run, built as when it was saved.
                Under a `tf.distribute` strategy, the one it was made in is
                entered here (`model.distribute_strategy`).

        Returns:
            int, the epochs done: pass it to `fit` as `initial_epoch` (0 when
            there is no checkpoint, and nothing is changed).
        """
        if not self.exists():
            return 0
        state = json.loads((self.directory / _STATE).read_text())
        if state.get("format") != _FORMAT:
            raise ValueError(
                f"{self.directory / _STATE} is not a TrainingCheckpoint of format "
                f"{_FORMAT}. Received: format={state.get('format')!r}"
            )
        # The optimizer's variables are made in the model's strategy, as
        # `fit` makes them (built outside it, they fail half-made).
        with _strategy_scope(model):
            _build_optimizer(model)
            with np.load(self.directory / _VARIABLES) as arrays:
                path = self.directory / _VARIABLES
                _assign(model.variables, arrays, "model", path)
                _assign(model.optimizer.variables, arrays, "optimizer", path)
        if len(state["callbacks"]) != len(self.callbacks):
            raise ValueError(
                f"The checkpoint in {self.directory} holds the state of "
                f"{len(state['callbacks'])} callbacks; `callbacks` has "
                f"{len(self.callbacks)}."
            )
        for callback, callback_state in zip(self.callbacks, state["callbacks"]):
            callback.set_state(callback_state)
        self.history = {key: list(values) for key, values in state["history"].items()}
        self.epochs_done = int(state["epochs_done"])
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.finished = bool(state.get("finished", False))
        return self.epochs_done

    def restore_best_weights(self, model):
        """Loads the model variables of the best epoch (needs `monitor`)."""
        path = self.directory / _BEST
        if not path.is_file():
            raise FileNotFoundError(
                f"No best weights in {self.directory}: pass `monitor` and train "
                "at least one epoch."
            )
        with np.load(path) as arrays:
            _assign(model.variables, arrays, "model", path)

    # -------------------------------------------------------------- training

    def on_train_begin(self, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        self.start = self.last_epoch_end = self.last_save = self.clock()
        self.longest_epoch = 0.0
        self.stopped_by_time_limit = False
        self._stopped_by_callback = False
        setattr(self.model, STOPPED_FOR_TIME, False)  # a TimeBudget's, from before
        self._saved_epochs = self.epochs_done

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        for key, value in logs.items():
            self.history.setdefault(key, []).append(_number(value))
        self.epochs_done = epoch + 1
        # A callback before this one stopped the run: finished, even if the
        # time limit also falls on this epoch; but a TimeBudget's stop is a
        # time limit's.
        last_epoch = epoch + 1 >= (self.params or {}).get("epochs", float("inf"))
        if getattr(self.model, STOPPED_FOR_TIME, False):
            self.stopped_by_time_limit = not last_epoch
        elif getattr(self.model, "stop_training", False):
            self._stopped_by_callback = True
        current = None
        if self.monitor is not None:
            current = _monitor.monitored(self, logs, epoch)
        if current is not None:
            way = _monitor.direction(self, self.model)
            if _monitor.better(current, self.best, 0.0, way):
                self.best, self.best_epoch = current, epoch
                _save_arrays(self.directory / _BEST, {"model": self.model.variables})
        now = self.clock()
        self.longest_epoch = max(self.longest_epoch, now - self.last_epoch_end)
        self.last_epoch_end = now
        out_of_time = (
            self.time_limit is not None
            and now - self.start + self.longest_epoch > self.time_limit
        )
        # On the last epoch, or one a callback ended, the run is over: the
        # time limit stops nothing.
        if out_of_time and not (last_epoch or self._stopped_by_callback):
            self.stopped_by_time_limit = True
            self.model.stop_training = True
        if self.stopped_by_time_limit or now - self.last_save >= self.every_seconds:
            self.save()

    def on_train_end(self, logs=None):
        # A TimeBudget's stop on the last epoch stops nothing: not finished.
        stopped = bool(getattr(self.model, "stop_training", False)) and not getattr(
            self.model, STOPPED_FOR_TIME, False
        )
        finished = self._stopped_by_callback or (
            stopped and not self.stopped_by_time_limit
        )
        if self._saved_epochs != self.epochs_done or finished != self.finished:
            self.finished = finished
            self.save()

    def save(self):
        """Writes the checkpoint now (also called by the callback itself)."""
        _save_arrays(
            self.directory / _VARIABLES,
            {
                "model": self.model.variables,
                "optimizer": self.model.optimizer.variables,
            },
        )
        state = {
            "format": _FORMAT,
            "epochs_done": self.epochs_done,
            "history": self.history,
            "callbacks": [callback.get_state() for callback in self.callbacks],
            "best": self.best,
            "best_epoch": self.best_epoch,
            "finished": self.finished,
        }
        _write_atomically(self.directory / _STATE, json.dumps(state).encode())
        self.last_save = self.clock()
        self._saved_epochs = self.epochs_done


def _number(value):
    value = np.asarray(keras.ops.convert_to_numpy(value))
    return float(value) if value.ndim == 0 else value.tolist()


def _strategy_scope(model):
    """The scope of the `tf.distribute` strategy the model was made in, unless
    a strategy's scope is entered already."""
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None or tf.distribute.has_strategy():
        return contextlib.nullcontext()
    return strategy.scope()


def _build_optimizer(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError("Argument `model` must be compiled (it has no optimizer).")
    if not optimizer.built:
        optimizer.build(model.trainable_variables)


def _save_arrays(path, groups):
    arrays = {}
    for group, variables in groups.items():
        for i, variable in enumerate(variables):
            arrays[f"{group}/{i:05d}"] = keras.ops.convert_to_numpy(variable)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        np.savez(file, **arrays)
    os.replace(temporary, path)


def _assign(variables, arrays, group, path):
    stored = sorted(key for key in arrays.files if key.startswith(f"{group}/"))
    variables = list(variables)
    shapes = [tuple(arrays[key].shape) for key in stored]
    expected = [tuple(variable.shape) for variable in variables]
    if shapes != expected:
        raise ValueError(
            f"The checkpoint {path} does not match the {group}: it holds "
            f"{len(shapes)} variables of shapes {shapes[:4]}..., the {group} has "
            f"{len(expected)} of shapes {expected[:4]}..."
        )
    for variable, key in zip(variables, stored):
        variable.assign(arrays[key])


def _write_atomically(path, data):
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
