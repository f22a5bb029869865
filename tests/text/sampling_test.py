"""Tests for `keras_rnncr.text.sample_text`."""

import numpy as np
import pytest

from keras_rnncr import text


@pytest.fixture(scope="module")
def model_and_vocabulary():
    vocabulary = text.CharVocabulary("abcd")
    model = text.char_model("sgd", vocabulary.size, units=4, batch_size=2, seed=0)
    return model, vocabulary


def test_sample_is_reproducible_and_in_vocabulary(model_and_vocabulary):
    model, vocabulary = model_and_vocabulary
    first = text.sample_text(model, vocabulary, "ab", length=30, seed=3)
    second = text.sample_text(model, vocabulary, "ab", length=30, seed=3)
    assert first == second and len(first) == 30
    assert set(first) <= set("abcd")
    assert text.sample_text(model, vocabulary, length=0) == ""


def test_low_temperature_follows_the_most_likely_character(model_and_vocabulary):
    model, vocabulary = model_and_vocabulary
    head = model.get_layer("head")
    saved = head.kernel.numpy()
    boosted = np.zeros_like(saved)
    boosted[:, 2] = 50.0  # every state predicts "c"
    head.kernel.assign(boosted)
    try:
        sample = text.sample_text(model, vocabulary, "a", 10, temperature=0.1)
        # So tiny that logits / temperature overflow: greedy, not NaN.
        tiny = text.sample_text(model, vocabulary, "a", 10, temperature=1e-308)
    finally:
        head.kernel.assign(saved)
    assert sample == tiny == "c" * 10


def test_sampling_leaves_the_carried_state_alone(model_and_vocabulary):
    model, vocabulary = model_and_vocabulary
    (layer,) = text.stateful_layers(model)
    text.reset_stream_states(model)
    text.sample_text(model, vocabulary, "abc", 5, seed=0)
    np.testing.assert_array_equal(layer.states[0].numpy(), 0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"length": -1}, "Argument `length` must be a non-negative integer"),
        ({"length": True}, "Argument `length` must be a non-negative integer"),
        ({"temperature": 0.0}, "Argument `temperature` must be a positive float"),
        ({"temperature": float("nan")}, "positive float. Received: temperature=nan"),
        ({"temperature": float("inf")}, "positive float. Received: temperature=inf"),
        ({"seed": -1}, "Argument `seed` must be a non-negative integer or None"),
        ({"seed": 1.5}, "Argument `seed` must be a non-negative integer or None"),
    ],
)
def test_validation(model_and_vocabulary, kwargs, message):
    model, vocabulary = model_and_vocabulary
    with pytest.raises(ValueError, match=message):
        text.sample_text(model, vocabulary, "a", **kwargs)


def test_rejects_other_models(model_and_vocabulary):
    import keras

    _, vocabulary = model_and_vocabulary
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="must be a `keras_rnncr.text.char_model`"):
        text.sample_text(other, vocabulary, "a", 1)


def test_rejects_a_vocabulary_of_another_size(model_and_vocabulary):
    model, _ = model_and_vocabulary
    for symbols in ("ab", "abcdefgh"):
        with pytest.raises(ValueError, match="`vocabulary` has .* symbols and the"):
            text.sample_text(model, text.CharVocabulary(symbols), "a", 1)


def test_a_prompt_outside_the_vocabulary_is_named(model_and_vocabulary):
    model, vocabulary = model_and_vocabulary
    with pytest.raises(ValueError, match=r"Argument `prompt`: Characters \['z'\]"):
        text.sample_text(model, vocabulary, "az", 3)
