"""Checks that Keras runs on the TensorFlow backend, which keras_rnncr requires."""

import json
import os


def _configured_backend():
    """The backend Keras will use, read the way Keras reads it, without importing it."""
    if "KERAS_BACKEND" in os.environ:
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def check_backend():
    """Raises `ImportError` unless Keras uses the TensorFlow backend."""
    backend = _configured_backend()
    if backend == "tensorflow":
        import keras

        backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ImportError(
            "keras_rnncr requires the TensorFlow backend of Keras 3. "
            f"Received: Keras backend {backend!r}. Switch with "
            "`export KERAS_BACKEND=tensorflow` before starting Python (or set "
            '"backend": "tensorflow" in ~/.keras/keras.json).'
        )
