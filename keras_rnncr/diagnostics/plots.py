"""Learning-curve figures from a Keras `History` (matplotlib, optional)."""

import numpy as np

from keras_rnncr._plotting import finish, pyplot

# Curves with at most this many points are also drawn as markers, so that a
# one-epoch run shows its points instead of empty panels.
_MARKER_MAX_POINTS = 20


def plot_history(
    history,
    path=None,
    keys=None,
    x=None,
    x_label="epoch",
    y_labels=None,
    reference_lines=None,
    validation_x=None,
):
    """Plot one panel per logged quantity, with `val_` curves overlaid.

    Curves of at most 20 points are drawn with a marker at each point (a
    single point would otherwise not show).

    Args:
        history: a `keras.callbacks.History`, or its `.history` dict (name to list
            of numbers).
        path: file to save the figure to (any matplotlib format), or `None` to
            only return it.
        keys: names to plot, in order; keys that are absent are skipped.
            Defaults to every key without a `val_` prefix.
        x: optional x values shared by every curve (for example the number of
            updates at each epoch end); defaults to 1, 2, ...
        x_label: label of the x axis.
        y_labels: optional dict from a key to the label of its y axis (for
            example `{"loss": "cross-entropy (nats)"}`); other panels have none.
        reference_lines: optional dict from a key to `(value, label)`, drawn
            as a dashed horizontal line in that key's panel and named in its
            legend (for example a success criterion).
        validation_x: optional x values of the overlaid `val_` curves' points,
            needed when validation ran on some epochs only
            (`fit(validation_freq=...)`, whose history has fewer `val_` values
            than training ones; a `val_` curve that is shorter than its
            training curve is refused without it). Defaults to the training
            curves' x values.

    Returns:
        The matplotlib `Figure`.
    """
    history = getattr(history, "history", history)
    if not isinstance(history, dict):
        raise TypeError(
            "Argument `history` must be a keras History or a dict of lists. "
            f"Received: history={type(history).__name__}"
        )
    if isinstance(keys, str):
        raise TypeError(
            "Argument `keys` must be a list of names, not a string (a string "
            f"would be read as its characters). Received: keys={keys!r}"
        )
    requested = keys
    if keys is None:
        keys = [k for k in history if not k.startswith("val_") and k != x_label]
    keys = [k for k in keys if k in history and len(_curve(history, k))]
    if not keys:
        raise ValueError(
            f"None of the requested keys are in the history. Available: "
            f"{sorted(history)}. Received: keys={requested}"
        )
    if x is not None:
        x = _values("x", x)
        longest = max(len(history[k]) for k in keys)
        if len(x) < longest:
            raise ValueError(
                f"Argument `x` must give a value for each of the {longest} points "
                f"of the longest curve. Received: {len(x)} values"
            )
    y_labels = _mapping("y_labels", y_labels, "a dict from a key to a label")
    reference_lines = _mapping(
        "reference_lines", reference_lines, "a dict from a key to (value, label)"
    )
    for key, line in reference_lines.items():
        if (
            isinstance(line, str)
            or not hasattr(line, "__len__")
            or len(line) != 2
            or not _is_number(line[0])
        ):
            raise ValueError(
                "Argument `reference_lines` must map each key to a pair "
                f"(value, label). Received: reference_lines[{key!r}]={line!r}"
            )
    if validation_x is not None:
        validation_x = _values("validation_x", validation_x)
    plt = pyplot()
    figure, axes = plt.subplots(
        1, len(keys), figsize=(3.2 * len(keys), 3), squeeze=False
    )
    for axis, key in zip(axes[0], keys):
        values = _curve(history, key)
        steps = np.arange(1, len(values) + 1) if x is None else np.asarray(x)
        _plot_curve(
            axis, steps, values, "validation" if key.startswith("val_") else "train"
        )
        validation = _curve(history, f"val_{key}") if f"val_{key}" in history else None
        legend = False
        if validation is not None and len(validation):
            _plot_curve(
                axis,
                _validation_steps(key, values, validation, steps, validation_x),
                validation,
                "validation",
            )
            legend = True
        if key in reference_lines:
            value, label = reference_lines[key]
            axis.axhline(value, color="gray", linestyle="--", label=label)
            legend = True
        if legend:
            axis.legend(fontsize="small")
        axis.set_title(key)
        axis.set_xlabel(x_label)
        if key in y_labels:
            axis.set_ylabel(y_labels[key])
    figure.tight_layout()
    return finish(plt, figure, path)


def _validation_steps(key, values, validation, steps, validation_x):
    """The x values of `val_<key>`'s points."""
    if validation_x is None:
        if len(validation) > len(values):
            raise ValueError(
                f"The curve `val_{key}` has {len(validation)} points and `{key}` "
                f"only {len(values)}: more validation points than training ones "
                "(histories of different runs joined?). Pass `validation_x`, the "
                "x value of each validation point, or curves of one run."
            )
        if len(validation) != len(values):
            raise ValueError(
                f"The curve `val_{key}` has {len(validation)} points and `{key}` "
                f"{len(values)}: validation ran on some epochs only "
                "(`fit(validation_freq=...)`). Pass `validation_x`, the x value "
                "of each validation point (e.g. `validation_x=range(2, 11, 2)` "
                "for `validation_freq=2` over 10 epochs)."
            )
        return steps
    if len(validation_x) < len(validation):
        raise ValueError(
            f"Argument `validation_x` must give a value for each of the "
            f"{len(validation)} points of `val_{key}`. Received: "
            f"{len(validation_x)} values"
        )
    return validation_x


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _curve(history, key):
    """`history[key]` as a 1-D float array, or a clear error."""
    try:
        values = np.asarray(history[key], dtype=float)
    except (TypeError, ValueError):
        values = None
    if values is None or values.ndim != 1:
        raise ValueError(
            "Argument `history` must map each name to a list of numbers. "
            f"Received: history[{key!r}]={history[key]!r}"
        )
    return values


def _values(name, values):
    """An iterable of numbers (a list, range, array or generator) as a 1-D
    float array, or a clear error."""
    try:
        array = np.asarray(
            values if hasattr(values, "__len__") else list(values), dtype=float
        )
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != 1:
        raise ValueError(
            f"Argument `{name}` must be a sequence of numbers. "
            f"Received: {name}={values!r}"
        )
    return array


def _mapping(name, value, expected):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(
            f"Argument `{name}` must be {expected}. Received: {name}={value!r}"
        )
    return dict(value)


def _plot_curve(axis, steps, values, label):
    values = np.asarray(values, dtype=float)
    marker = "o" if len(values) <= _MARKER_MAX_POINTS else None
    axis.plot(steps[: len(values)], values, label=label, marker=marker, markersize=4)
