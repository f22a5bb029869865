"""SavedModel export of Omega-layer models, served where keras_rnncr cannot load."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_rnncr import layers
from keras_rnncr.optimizers import ClippedOptimizer

# Every test here uses the served models of one server process (slow to start).
pytestmark = pytest.mark.slow

MODELS = {
    "simple_rnn": lambda: layers.SimpleRNN(4, omega=1.0),
    "gru": lambda: layers.GRU(4, omega=1.0, return_sequences=True),
    "lstm": lambda: layers.LSTM(4, omega=1.0),
    "rnn_cell": lambda: layers.RNN(
        keras.layers.GRUCell(4), omega=1.0, return_sequences=True
    ),
}

# Runs in a fresh interpreter: keras_rnncr (installed editable) is blocked, then
# each artefact is served through tf.saved_model.load and keras.layers.TFSMLayer.
SERVER = textwrap.dedent(
    """
    import json, sys

    class BlockKerasRnncr:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "keras_rnncr":
                raise ImportError("keras_rnncr is blocked in this process")
            return None

    sys.meta_path.insert(0, BlockKerasRnncr())
    try:
        import keras_rnncr  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("keras_rnncr could be imported")

    import keras
    import numpy as np
    import tensorflow as tf

    for directory in json.loads(sys.argv[1]):
        x = np.load(f"{directory}/x.npy")
        loaded = tf.saved_model.load(f"{directory}/model")
        np.save(f"{directory}/saved_model.npy", loaded.serve(x).numpy())
        layer = keras.layers.TFSMLayer(f"{directory}/model", call_endpoint="serve")
        np.save(f"{directory}/tfsm_layer.npy", keras.ops.convert_to_numpy(layer(x)))
    print(json.dumps(sorted(m for m in sys.modules if m.startswith("keras_rnncr"))))
    """
)


def _train_and_export(name, directory):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 6, 3)).astype("float32")
    model = keras.Sequential(
        [keras.Input((6, 3)), MODELS[name](), keras.layers.Dense(2)]
    )
    model.compile(
        optimizer=ClippedOptimizer(keras.optimizers.SGD(0.1), threshold=0.5),
        loss="mse",
    )
    before = [w.numpy() for w in model.trainable_weights]
    y = rng.normal(size=(5, *model.output_shape[1:])).astype("float32")
    model.train_on_batch(x, y)
    assert int(model.optimizer.iterations) == 1
    assert any(
        not np.array_equal(a, w.numpy())
        for a, w in zip(before, model.trainable_weights)
    )
    model.export(str(directory / "model"), verbose=False)
    np.save(directory / "x.npy", x)
    np.save(directory / "predict.npy", model.predict(x, verbose=0))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    directories = {}
    for name in MODELS:
        directories[name] = tmp_path_factory.mktemp(name)
        _train_and_export(name, directories[name])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SERVER,
            json.dumps([str(d) for d in directories.values()]),
        ],
        cwd=tmp_path_factory.mktemp("server"),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return directories, json.loads(result.stdout.strip().splitlines()[-1])


def test_server_never_imported_keras_rnncr(served):
    _, imported = served
    assert imported == []


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("endpoint", ["saved_model", "tfsm_layer"])
def test_served_outputs_equal_predict(served, name, endpoint):
    directories, _ = served
    expected = np.load(directories[name] / "predict.npy")
    outputs = np.load(directories[name] / f"{endpoint}.npy")
    assert outputs.shape == expected.shape
    np.testing.assert_allclose(outputs, expected, rtol=0, atol=1e-5)
