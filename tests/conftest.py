"""Shared test set-up: two logical CPU devices, so tf.distribute tests run anywhere."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
)


def _is_tf_test_session(item):
    """`tf.test.TestCase.test_session` is a context manager, named like a test."""
    cls = getattr(item, "cls", None)
    return (
        item.name == "test_session"
        and cls is not None
        and issubclass(cls, tf.test.TestCase)
        and getattr(cls, "test_session", None) is tf.test.TestCase.test_session
    )


def pytest_collection_modifyitems(config, items):
    """Leaves out the helpers of `tf.test.TestCase` that pytest takes for tests."""
    helpers = [item for item in items if _is_tf_test_session(item)]
    if helpers:
        config.hook.pytest_deselected(items=helpers)
        items[:] = [item for item in items if item not in helpers]


def script_loader(monkeypatch, folder):
    """`load(name)`: the script `<repo>/<folder>/<name>.py` as a fresh module.

    The folder goes on `sys.path` for the test, so that the script's own
    helpers (`examples/_cli.py`, `benchmarks/_resumable.py`...) import.
    """
    import importlib.util
    import pathlib

    directory = pathlib.Path(__file__).resolve().parents[1] / folder
    monkeypatch.syspath_prepend(str(directory))

    def load(name):
        spec = importlib.util.spec_from_file_location(
            f"{name}_{folder}", directory / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
