"""Learning-curve figures from a Keras `History` (matplotlib, optional)."""

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib: `pip install matplotlib` (or the "
            "`examples` extra of keras_rnncr)."
        ) from error
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline"):
        try:
            import IPython  # noqa: F401  - keep inline backends in notebooks
        except ImportError:
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history, path=None, keys=None, x=None, x_label="epoch"):
    """Plot one panel per logged quantity, with `val_` curves overlaid.

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

    Returns:
        The matplotlib `Figure`.
    """
    history = getattr(history, "history", history)
    if not isinstance(history, dict):
        raise TypeError(
            "Argument `history` must be a keras History or a dict of lists. "
            f"Received: history={type(history).__name__}"
        )
    if keys is None:
        keys = [k for k in history if not k.startswith("val_") and k != x_label]
    keys = [k for k in keys if k in history and len(history[k])]
    if not keys:
        raise ValueError(
            f"None of the requested keys are in the history. Available: "
            f"{sorted(history)}. Received: keys={keys}"
        )
    plt = _pyplot()
    figure, axes = plt.subplots(
        1, len(keys), figsize=(3.2 * len(keys), 3), squeeze=False
    )
    for axis, key in zip(axes[0], keys):
        values = np.asarray(history[key], dtype=float)
        steps = np.arange(1, len(values) + 1) if x is None else np.asarray(x)
        axis.plot(steps[: len(values)], values, label="train")
        validation = history.get(f"val_{key}")
        if validation is not None and len(validation):
            axis.plot(steps[: len(validation)], validation, label="validation")
            axis.legend(fontsize="small")
        axis.set_title(key)
        axis.set_xlabel(x_label)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure
