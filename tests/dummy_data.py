"""The TFDS builders' dummy data, generated once per test session (not in git)."""

import atexit
import functools
import importlib
import pathlib
import shutil
import tempfile


@functools.cache
def dummy_data(dataset):
    """Folder with `download/` and `manual/` fixtures of `dataset` (a builder).

    Written by `keras_rnncr.datasets.<dataset>.make_dummy_data` (deterministic)
    into a temporary folder that is removed when the session ends.
    """
    generator = importlib.import_module(
        f"keras_rnncr.datasets.{dataset}.make_dummy_data"
    )
    root = pathlib.Path(tempfile.mkdtemp(prefix=f"keras_rnncr_{dataset}_"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    generator.write_dummy_data(root)
    return root
