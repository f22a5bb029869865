"""Fixtures for the optimizer tests: seeds and a clean dtype policy."""

import keras
import pytest
import tensorflow as tf


@pytest.fixture(autouse=True)
def _seed_and_policy():
    keras.utils.set_random_seed(1337)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def mirrored():
    """A MirroredStrategy over 2 logical CPU devices (set up by tests/conftest.py)."""
    cpus = tf.config.list_logical_devices("CPU")
    if len(cpus) < 2:
        pytest.skip("needs 2 logical CPU devices (configured by tests/conftest.py)")
    # Collective all-reduce instance keys restart with every strategy object in
    # a process, so a collective run by another test file's strategy (with a
    # different dtype) can collide with ours ("Collective instance 100 expected
    # ... data_type"). Reducing through one device avoids collectives; the
    # collective path is covered by the multi-worker test (separate processes).
    return tf.distribute.MirroredStrategy(
        [cpus[0].name, cpus[1].name],
        cross_device_ops=tf.distribute.ReductionToOneDevice(),
    )
