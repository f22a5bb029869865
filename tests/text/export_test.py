"""Generation endpoint and stateful `model.export()`, served without keras_rnncr."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_rnncr import text

# Runs in a fresh interpreter in which keras_rnncr cannot be imported.
SERVER = textwrap.dedent(
    """
    import json, sys

    sys.modules["keras_rnncr"] = None  # `import keras_rnncr(.*)` now fails
    import keras
    import numpy as np
    import tensorflow as tf

    root = sys.argv[1]
    ids = np.load(f"{root}/ids.npy")
    generator = tf.saved_model.load(f"{root}/generator")
    state = generator.initial_state(tf.constant(ids.shape[0]))
    logits, probabilities = [], []
    for t in range(ids.shape[1]):
        out = generator.step(tf.constant(ids[:, t]), state)
        state = out["state"]
        logits.append(out["logits"].numpy())
        probabilities.append(out["probabilities"].numpy())
    np.save(f"{root}/step_logits.npy", np.stack(logits, 1))
    np.save(f"{root}/step_probabilities.npy", np.stack(probabilities, 1))
    seed = tf.constant([1, 2])
    draws = [
        generator.sample(tf.constant(ids[:, 0]), state, 1.0, seed)["ids"].numpy()
        for _ in range(2)
    ]
    np.save(f"{root}/draws.npy", np.stack(draws))
    # A tiny temperature (the smallest normal float32) draws greedily.
    greedy = np.argmax(generator.step(tf.constant(ids[:, 0]), state)["logits"], -1)
    tiny = generator.sample(tf.constant(ids[:, 0]), state, 1.2e-38, seed)["ids"]
    refused = {}
    for temperature in (0.0, -1.0, float("nan"), float("inf")):
        try:
            generator.sample(tf.constant(ids[:, 0]), state, temperature, seed)
            refused[str(temperature)] = ""
        except tf.errors.InvalidArgumentError as error:
            refused[str(temperature)] = error.message
    try:
        generator.initial_state(tf.constant(-1))
        refused["batch_size"] = ""
    except tf.errors.InvalidArgumentError as error:
        refused["batch_size"] = error.message
    try:
        generator.step(tf.constant(ids[:2, 0]), state)
        refused["batches"] = ""
    except tf.errors.InvalidArgumentError as error:
        refused["batches"] = error.message
    segments = np.load(f"{root}/segments.npy")
    served = tf.saved_model.load(f"{root}/stateful")
    np.save(f"{root}/serve.npy", np.stack([served.serve(s).numpy() for s in segments]))
    layer = keras.layers.TFSMLayer(f"{root}/stateful", call_endpoint="serve")
    np.save(
        f"{root}/tfsm.npy",
        np.stack([keras.ops.convert_to_numpy(layer(s)) for s in segments]),
    )
    with open(f"{root}/generator/assets.extra/vocabulary.json") as f:
        symbols = json.load(f)["symbols"]
    print(json.dumps({
        "symbols": symbols,
        "refused": refused,
        "greedy": greedy.tolist(),
        "tiny_temperature": tiny.numpy().tolist(),
        "keras_rnncr": sorted(
            m for m, v in sys.modules.items() if m.startswith("keras_rnncr") and v
        ),
    }))
    """
)


def _randomise(model, seed):
    """Weights large enough that the outputs depend on the whole history."""
    rng = np.random.default_rng(seed)
    for variable in model.trainable_weights:
        variable.assign(rng.normal(0.0, 1.0, variable.shape).astype("float32"))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("char_lm_export")
    keras.utils.set_random_seed(0)
    vocabulary = text.CharVocabulary("abcdefg", unknown="?")
    rng = np.random.default_rng(0)

    stateless = text.char_model("sgd-cr", vocabulary.size, units=6, stateful=False)
    _randomise(stateless, 1)
    ids = rng.integers(0, vocabulary.size, (3, 9)).astype("int32")
    reference = stateless.predict(ids, verbose=0)
    text.export_generator(stateless, str(root / "generator"), vocabulary)
    np.save(root / "ids.npy", ids)

    stateful = text.char_model("sgd-cr", vocabulary.size, units=6, batch_size=2)
    _randomise(stateful, 2)
    segments = rng.integers(0, vocabulary.size, (2, 2, 5)).astype("int32")
    text.reset_stream_states(stateful)
    predicted = np.stack([stateful.predict(s, verbose=0) for s in segments])
    text.reset_stream_states(stateful)
    stateful.export(str(root / "stateful"), verbose=False)
    np.save(root / "segments.npy", segments)

    result = subprocess.run(
        [sys.executable, "-c", SERVER, str(root)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return root, reference, predicted, vocabulary, report


@pytest.mark.slow
def test_server_process_did_not_import_keras_rnncr(served):
    *_, report = served
    assert report["keras_rnncr"] == []


@pytest.mark.slow
def test_generator_steps_reproduce_model_outputs(served):
    root, reference, *_ = served
    logits = np.load(root / "step_logits.npy")
    np.testing.assert_allclose(logits, reference, atol=1e-5)
    probabilities = np.load(root / "step_probabilities.npy")
    np.testing.assert_allclose(
        probabilities,
        keras.ops.convert_to_numpy(keras.ops.softmax(reference)),
        atol=1e-5,
    )
    assert reference[:, -1].std() > 0.1  # outputs are far from uniform


@pytest.mark.slow
def test_generator_sampling_is_seeded_and_ships_the_vocabulary(served):
    root, _, _, vocabulary, report = served
    draws = np.load(root / "draws.npy")
    np.testing.assert_array_equal(draws[0], draws[1])
    assert draws.min() >= 0 and draws.max() < vocabulary.size
    assert report["symbols"] == vocabulary.symbols


@pytest.mark.slow
def test_stateful_export_serves_predict_outputs(served):
    root, _, predicted, *_ = served
    np.testing.assert_allclose(np.load(root / "serve.npy"), predicted, atol=1e-5)
    np.testing.assert_allclose(np.load(root / "tfsm.npy"), predicted, atol=1e-5)
    # the second segment depends on the state carried from the first
    assert np.abs(predicted[1] - predicted[0]).max() > 1e-3


def test_export_generator_rejects_other_models(tmp_path):
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="must be a `keras_rnncr.text.char_model`"):
        text.export_generator(other, str(tmp_path / "x"))


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"model": None}, TypeError, "Argument `model` must be a `keras_rnncr.text"),
        ({"vocabulary": {"a": 0}}, TypeError, "Argument `vocabulary` must be the"),
        ({"vocabulary": "abcde"}, TypeError, "Argument `vocabulary` must be the"),
        (
            {"vocabulary": text.CharVocabulary("abcdefghij")},
            ValueError,
            "Argument `vocabulary` has 10 symbols and the model 4",
        ),
        ({"path": None}, ValueError, "Argument `path` must be a directory name"),
        ({"path": ""}, ValueError, "Argument `path` must be a directory name"),
        ({"verbose": "no"}, ValueError, "Argument `verbose` must be a bool"),
        ({"verbose": None}, ValueError, "Argument `verbose` must be a bool"),
    ],
)
def test_export_generator_checks_its_arguments_before_writing(
    tmp_path, arguments, error, message
):
    model = text.char_model("sgd", 4, units=3, stateful=False)
    arguments = {
        "model": model,
        "path": str(tmp_path / "generator"),
        "vocabulary": text.CharVocabulary("abcd"),
        **arguments,
    }
    with pytest.raises(error, match=message):
        text.export_generator(**arguments)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_generator_sampling_refuses_a_temperature_that_is_not_positive(served):
    *_, report = served
    # Before, 0 and NaN drew the id `vocabulary.size` (outside the vocabulary)
    # and -1 the inverted distribution, without an error.
    refused = dict(report["refused"])
    assert "Argument `batch_size` must be a non-negative" in refused.pop("batch_size")
    assert "Arguments `ids` and `state` must have the same batch size" in refused.pop(
        "batches"
    )
    assert set(refused) == {"0.0", "-1.0", "nan", "inf"}
    for message in refused.values():
        assert "Argument `temperature` must be a positive finite float" in message
    # Logits above 4 over 1.2e-38 overflow float32: shifted first, they cannot.
    assert report["tiny_temperature"] == report["greedy"]
