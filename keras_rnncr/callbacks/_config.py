"""`get_config`/`from_config` of the callbacks: their constructor's arguments."""

import os
import time
import types

import keras
import numpy as np


class ConfigMixin:
    """A callback's config: the attributes named in `_CONFIG`, which hold its
    constructor's arguments as given (checked).

    Objects among them (a schedule, callbacks, a clock) go through Keras's
    serialization, so a registered function or class survives and an
    unregistered one fails at `from_config` with Keras's message, as for
    Keras's own objects. The default clock, `time.monotonic`, is left out;
    another built-in function (`time.time`) is refused by `get_config`, since
    Keras would write a config it cannot read back.
    """

    _CONFIG = ()

    def get_config(self):
        config = {}
        for name in self._CONFIG:
            value = getattr(self, name)
            if name == "clock" and value is time.monotonic:
                continue
            config[name] = _serialized(value, name)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**{name: _deserialized(value) for name, value in config.items()})


def _serialized(value, name=None):
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, types.BuiltinFunctionType):
        # Keras writes a config for these that it cannot read back.
        raise ValueError(
            f"Argument `{name}` has no config: {value!r} is a built-in "
            "function, which Keras cannot load back. Use the default, or a "
            "function registered with `keras.saving.register_keras_serializable`."
        )
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, list | tuple):
        return [_serialized(item, name) for item in value]
    return {"keras_object": keras.saving.serialize_keras_object(value)}


def _deserialized(value):
    if isinstance(value, list):
        return [_deserialized(item) for item in value]
    if isinstance(value, dict) and set(value) == {"keras_object"}:
        return keras.saving.deserialize_keras_object(value["keras_object"])
    return value
