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
    """Saves `figure` to `path` (if given) and returns it.

    The figure stays pyplot's current figure, open, as those of
    `plt.subplots` do (`plt.savefig` after the call saves it; a script that
    draws many closes them with `plt.close(figure)`). If saving fails, it is
    closed before the error propagates: nobody could close it otherwise.
    """
    if path is not None:
        try:
            figure.savefig(path, dpi=100)
        except BaseException:
            plt.close(figure)
            raise
    return figure
