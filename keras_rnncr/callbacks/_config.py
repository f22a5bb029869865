"""`get_config`/`from_config` of the callbacks: their constructor's arguments."""

import os
import time

import keras


class ConfigMixin:
    """A callback's config: the attributes named in `_CONFIG`, which hold its
    constructor's arguments as given (checked).

    Objects among them (a schedule, callbacks, a clock) go through Keras's
    serialization, so a registered function or class survives and an
    unregistered one fails at `from_config` with Keras's message, as for
    Keras's own objects. The default clock, `time.monotonic`, is left out.
    """

    _CONFIG = ()

    def get_config(self):
        config = {}
        for name in self._CONFIG:
            value = getattr(self, name)
            if name == "clock" and value is time.monotonic:
                continue
            config[name] = _serialized(value)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**{name: _deserialized(value) for name, value in config.items()})


def _serialized(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, list | tuple):
        return [_serialized(item) for item in value]
    return {"keras_object": keras.saving.serialize_keras_object(value)}


def _deserialized(value):
    if isinstance(value, list):
        return [_deserialized(item) for item in value]
    if isinstance(value, dict) and set(value) == {"keras_object"}:
        return keras.saving.deserialize_keras_object(value["keras_object"])
    return value
