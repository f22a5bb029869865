"""A callback that ends training before a wall-clock budget runs out."""

import time

import keras

from keras_rnncr import _validation
from keras_rnncr.callbacks import _config

# Set on the model when a TimeBudget stops it, so that a `TrainingCheckpoint`
# counts the stop as the time limit's (to be resumed), not as the end of the run.
STOPPED_FOR_TIME = "_keras_rnncr_stopped_for_time"


@keras.saving.register_keras_serializable(package="keras_rnncr")
class TimeBudget(_config.ConfigMixin, keras.callbacks.Callback):
    """Stops `fit` at an epoch end when the next epoch would overrun a budget.

    After each epoch it predicts the end of the next one as the elapsed time
    plus the duration of the longest epoch so far; if that passes `seconds`,
    training stops there, so runs stay within the budget and always end on a
    whole epoch (with its validation). The first epoch always runs. The
    elapsed training time is written to the logs as `wall_time` (seconds since
    this `fit` call began: it restarts in each call). A
    `keras_rnncr.callbacks.TrainingCheckpoint` counts its stop as a time-limit
    stop: the run is not finished and resumes.

    Args:
        seconds: positive float, the wall-clock budget of one `fit` call.
        clock: callable returning the time in seconds. Defaults to
            `time.monotonic`.

    Example:

    >>> budget = keras_rnncr.callbacks.TimeBudget(300)  # five minutes
    >>> # model.fit(x, epochs=1000, callbacks=[budget])
    """

    _CONFIG = ("seconds", "clock")

    def __init__(self, seconds, clock=time.monotonic):
        super().__init__()
        seconds = _validation.check_positive_float("seconds", seconds)
        if not callable(clock):
            raise TypeError(
                f"Argument `clock` must be callable. Received: clock={clock!r}"
            )
        self.seconds = seconds
        self.clock = clock
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self.start = self.last = self.clock()
        self.longest_epoch = 0.0
        self.stopped_epoch = None
        setattr(self.model, STOPPED_FOR_TIME, False)

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        self.longest_epoch = max(self.longest_epoch, now - self.last)
        self.last = now
        elapsed = now - self.start
        if logs is not None:
            logs["wall_time"] = elapsed
        if elapsed + self.longest_epoch > self.seconds:
            self.stopped_epoch = epoch
            # A run a callback before this one already ended is over, not
            # stopped for time.
            if not self.model.stop_training:
                setattr(self.model, STOPPED_FOR_TIME, True)
            self.model.stop_training = True
