"""Checks that Keras runs on the TensorFlow backend, which keras_rnncr requires."""

import keras


def check_backend():
    """Raises `ImportError` unless Keras uses the TensorFlow backend."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ImportError(
            "keras_rnncr requires the TensorFlow backend of Keras 3. "
            f"Received: keras.backend.backend()={backend!r}. Switch with "
            "`export KERAS_BACKEND=tensorflow` before starting Python (or set "
            '"backend": "tensorflow" in ~/.keras/keras.json).'
        )
