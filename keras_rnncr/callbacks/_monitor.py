"""What the callbacks that watch a logged quantity share: its direction, its value.

`HalveLearningRateOnIncrease`, `HalveLearningRateOnPlateau` and
`TrainingCheckpoint` read `mode` as `keras.callbacks.ReduceLROnPlateau` and
`ModelCheckpoint` do, and, like them, skip an epoch whose logs lack the
monitored quantity (with a warning), e.g. the epochs without validation of
`fit(validation_freq=2)`.
"""

import math
import warnings

from keras_rnncr import _private_apis

MODES = ("auto", "min", "max")


def check_mode(mode):
    """Returns `mode` if it is one of `MODES`."""
    if mode not in MODES:
        raise ValueError(
            f"Argument `mode` must be one of {MODES}. Received: mode={mode!r}"
        )
    return mode


def direction(callback, model):
    """`"min"` or `"max"`: how `callback.monitor` improves.

    `callback.mode` `"min"` or `"max"` says it; `"auto"` means `"min"` for a
    loss (`loss`, `val_loss`, `val_<output>_loss`) and otherwise the direction
    of the compiled metric of that name, as in Keras's own callbacks. A metric
    whose direction is unknown is an error that asks for `mode`.
    """
    if callback.mode != "auto":
        return callback.mode
    name = callback.monitor.removeprefix("val_")
    if name == "loss" or name.endswith("_loss"):
        return "min"
    for metric in _compiled_metrics(model):
        if getattr(metric, "name", None) == name:
            found = _private_apis.metric_direction(metric)
            if found is not None:
                return "max" if found == "up" else "min"
    raise ValueError(
        f"{type(callback).__name__} cannot tell whether `{callback.monitor}` should "
        "go down or up: it is not a loss, nor a compiled metric that says so. "
        "Pass `mode='min'` (lower is better) or `mode='max'`. "
        f"Received: monitor={callback.monitor!r}, mode='auto'"
    )


def _compiled_metrics(model):
    """The model's metrics, with those Keras groups (compiled metrics) opened."""
    found = []
    for metric in getattr(model, "metrics", None) or []:
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, list | tuple) and inner is not metric:
            found.extend(inner)
        else:
            found.append(metric)
    return found


def monitored(callback, logs, epoch):
    """`logs[callback.monitor]` as a float, or None (warned) when it is absent."""
    if callback.monitor not in logs:
        warnings.warn(
            f"{type(callback).__name__} monitors `{callback.monitor}`, which is not "
            f"in the logs of epoch {epoch + 1}; the epoch is skipped. Available: "
            f"{sorted(logs)}.",
            stacklevel=3,
        )
        return None
    return float(logs[callback.monitor])


def better(current, reference, margin, way):
    """Whether finite `current` beats `reference` by more than `margin` in `way`."""
    if not math.isfinite(current):
        return False
    if reference is None:
        return True
    if way == "min":
        return current < reference - margin
    return current > reference + margin
