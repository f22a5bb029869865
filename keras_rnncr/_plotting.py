"""`pyplot()`: matplotlib for the package's figures, imported when first needed."""


def pyplot():
    """Returns `matplotlib.pyplot`, on the Agg backend outside notebooks.

    matplotlib is optional (the `examples` extra); the figures of
    `keras_rnncr.diagnostics` and `keras_rnncr.music` import it through this
    function, which says how to install it when it is missing. A notebook's
    inline backend is kept.
    """
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


def finish(plt, figure, path=None):
    """Saves `figure` to `path` (if given) and returns it, released from
    pyplot outside notebooks.

    A figure made with `plt.subplots` stays registered with pyplot until it
    is closed: a script drawing many would keep them all (matplotlib warns
    past 20). Outside notebooks it is closed here, also when saving fails;
    the returned figure can still be saved or drawn. A notebook's inline
    backend shows the figure after the cell and closes it itself.
    """
    import matplotlib

    try:
        if path is not None:
            figure.savefig(path, dpi=100)
    finally:
        if matplotlib.get_backend().lower() == "agg":
            plt.close(figure)
    return figure
