"""A callback that halves the learning rate whenever the epoch's error rises."""

import keras

from keras_rnncr import _validation


class HalveLearningRateOnIncrease(keras.callbacks.Callback):
    """Multiplies the learning rate by `factor` when a logged error goes up.

    The natural-task schedule of Pascanu, Mikolov & Bengio, ICML 2013 (arXiv
    v2 appendix, polyphonic music): initial learning rate 1.0 (0.5 for
    MuseData), "halved whenever the epoch error increases".

    ```python
    if logs[monitor] > previous + min_delta:   # previous = last epoch's value
        learning_rate = max(learning_rate * factor, min_learning_rate)
    ```

    Unlike `keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=0)`, which
    compares with the best value so far (and so halves again at every epoch
    that does not beat the best), this compares each epoch with the one just
    before it, which is what the paper describes. The learning rate in force
    for the next epoch is written to the logs as `learning_rate`.

    Args:
        monitor: str, the log entry to watch. Defaults to `"loss"`, the
            training error of the epoch; `"val_loss"` watches the validation
            error instead (needs validation data).
        factor: float in (0, 1), the multiplier. Defaults to `0.5`.
        min_delta: float >= 0, a rise must exceed it to count. Defaults to 0.
        min_learning_rate: float >= 0, the learning rate never goes below it.
            Defaults to 0.
        verbose: int, 1 prints a line at every change. Defaults to 0.

    Example:

    >>> halving = keras_rnncr.callbacks.HalveLearningRateOnIncrease("val_loss")
    >>> # model.fit(x, y, validation_data=..., callbacks=[halving])
    """

    def __init__(
        self,
        monitor="loss",
        factor=0.5,
        min_delta=0.0,
        min_learning_rate=0.0,
        verbose=0,
    ):
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(
                "Argument `monitor` must be the name of a logged quantity. "
                f"Received: monitor={monitor!r}"
            )
        self.monitor = monitor
        self.factor = _validation.check_float_in_range("factor", factor, 0, 1)
        self.min_delta = _validation.check_non_negative_float("min_delta", min_delta)
        self.min_learning_rate = _validation.check_non_negative_float(
            "min_learning_rate", min_learning_rate
        )
        self.verbose = verbose
        self.previous = None

    def on_train_begin(self, logs=None):
        self.previous = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if self.monitor not in logs:
            raise KeyError(
                f"HalveLearningRateOnIncrease monitors `{self.monitor}`, which is "
                f"not in the logs. Available: {sorted(logs)}."
            )
        current = float(logs[self.monitor])
        optimizer = self.model.optimizer
        learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        if self.previous is not None and current > self.previous + self.min_delta:
            new_rate = max(learning_rate * self.factor, self.min_learning_rate)
            if new_rate < learning_rate:
                optimizer.learning_rate = new_rate
                if self.verbose:
                    print(
                        f"\nEpoch {epoch + 1}: {self.monitor} rose from "
                        f"{self.previous:.4f} to {current:.4f}; learning rate "
                        f"{learning_rate:g} -> {new_rate:g}."
                    )
                learning_rate = new_rate
        self.previous = current
        logs["learning_rate"] = learning_rate
