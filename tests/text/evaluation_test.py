"""Tests of bits per character (a model, a unigram) and of `char_callbacks`."""

import keras
import numpy as np
import pytest

from keras_rnncr import callbacks, text


@pytest.mark.parametrize("ahead", [1, 5])
def test_every_character_scored_once_from_each_stream_start(ahead):
    keras.utils.set_random_seed(0)
    stateful = text.char_model("sgd", 6, units=5, batch_size=2, segment_length=4)
    rng = np.random.default_rng(1)
    for variable in stateful.trainable_weights:
        variable.assign(rng.normal(0, 1, variable.shape).astype("float32"))
    stateless = text.char_model("sgd", 6, units=5, stateful=False)
    stateless.set_weights(stateful.get_weights())
    ids = rng.integers(0, 6, 37)
    predicted = len(ids) - ahead
    stream_length = -(-predicted // 2)
    bits = []
    for start in (0, stream_length):  # each stream starts from the zero state
        end = min(start + stream_length, predicted)
        logits = stateless.predict(ids[None, start:end], verbose=0)[0]
        log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        targets = ids[start + ahead : end + ahead]
        bits.extend(-log_p[np.arange(len(targets)), targets] / np.log(2))
    assert len(bits) == predicted
    measured = text.evaluate_bits_per_character(stateful, ids, 2, 4, ahead=ahead)
    assert measured == pytest.approx(np.mean(bits), rel=1e-5)


def test_a_model_without_state_is_refused():
    stateless = text.char_model("sgd", 6, units=5, stateful=False)
    with pytest.raises(ValueError, match="has no stateful recurrent layer"):
        text.evaluate_bits_per_character(stateless, np.arange(30) % 6, 2, 4)


def test_ids_and_batch_size_are_checked_against_the_model():
    stateful = text.char_model("sgd", 6, units=5, batch_size=2, segment_length=4)
    for ids in (np.array([0, 1, 6, 2] * 5), np.array([0, -1, 2] * 5)):
        with pytest.raises(
            ValueError, match=r"Argument `ids` must hold ids in \[0, 5\]"
        ):
            text.evaluate_bits_per_character(stateful, ids, 2, 4)
    with pytest.raises(ValueError, match=r"`batch_size` must be the stateful model's"):
        text.evaluate_bits_per_character(stateful, np.arange(30) % 6, 3, 4)


def test_char_callbacks_follow_the_paper():
    kinds = [type(c) for c in text.char_callbacks("sgd")]
    assert kinds == [text.ResetStreamStates]
    kinds = [type(c) for c in text.char_callbacks("sgd-cr", ahead=1)]
    assert kinds == [text.ResetStreamStates, callbacks.ClippingLogger]
    scheduler = text.char_callbacks("sgd-cr", ahead=5)[-1]
    assert isinstance(scheduler, callbacks.OmegaScheduler)
    assert scheduler.schedule(0) == pytest.approx(0.05 / 200)
    assert scheduler.schedule(1) == pytest.approx(0.05 / 400)
    assert text.char_callbacks("sgd-cr", 5, omega=1.0)[-1].schedule(3) == 0.25
    plateau = text.char_callbacks("sgd-c", monitor="val_bits_per_character")[0]
    assert isinstance(plateau, callbacks.HalveLearningRateOnPlateau)
    assert (plateau.min_delta, plateau.min_delta_mode) == (0.003, "relative")
    assert (plateau.patience, plateau.max_halvings) == (1, 6)


def test_reset_stream_states_is_serializable():
    callback = text.ResetStreamStates()
    assert callback.get_config() == {}


def test_char_callbacks_halve_on_a_plateau_only_when_asked():
    plateau = text.char_callbacks("sgd-c", monitor="val_bits_per_character")[0]
    assert isinstance(plateau, callbacks.HalveLearningRateOnPlateau)
    assert (plateau.monitor, plateau.patience) == ("val_bits_per_character", 1)
    assert plateau.max_halvings == text.MAX_HALVINGS
    assert not plateau.stop_when_exhausted
    plateau = text.char_callbacks(
        "sgd", monitor="loss", patience=3, max_halvings=0, stop_when_exhausted=True
    )[0]
    assert (plateau.patience, plateau.max_halvings) == (3, 0)
    assert plateau.stop_when_exhausted
    assert not any(
        isinstance(c, callbacks.HalveLearningRateOnPlateau)
        for c in text.char_callbacks("sgd-cr", 5)
    )


def test_char_model_defaults_to_the_measured_batch_size():
    model = text.char_model("sgd", 6, units=3)
    assert model.input_shape == (text.BATCH_SIZE, None) == (8, None)


def test_unigram_by_hand():
    train = np.array([0, 0, 0, 1])  # counts + 1: 4, 2, 1 (vocabulary of 3)
    ids = np.array([2, 0, 1, 0])
    p = np.array([4, 2, 1]) / 7
    expected = -np.mean(np.log2(p[[0, 1, 0]]))  # ids[1:]
    assert text.unigram_bits_per_character(train, ids, vocab_size=3) == (
        pytest.approx(expected)
    )
    # ahead=2 scores ids[2:]; the vocabulary defaults to the largest id + 1.
    expected = -np.mean(np.log2(p[[1, 0]]))
    assert text.unigram_bits_per_character(train, ids, ahead=2) == (
        pytest.approx(expected)
    )


def test_a_uniform_model_of_the_right_size_costs_log2_of_the_vocabulary():
    ids = np.tile(np.arange(4), 25)
    assert text.unigram_bits_per_character(ids, ids) == pytest.approx(2.0, abs=1e-9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"train_ids": np.ones((2, 2), int)}, "`train_ids` must be a 1-D array"),
        ({"ids": np.array([0.5, 1.0])}, "`ids` must be a 1-D array of integer ids"),
        ({"ids": np.array([1])}, "`ids` has no character 1 steps ahead"),
        ({"ahead": 0}, "Argument `ahead` must be a positive integer"),
        ({"vocab_size": 2}, "`vocab_size` must exceed every id \\(2\\)"),
    ],
)
def test_unigram_rejects_bad_arguments(kwargs, message):
    arguments = {"train_ids": np.array([0, 1, 2]), "ids": np.array([0, 1]), **kwargs}
    with pytest.raises(ValueError, match=message):
        text.unigram_bits_per_character(**arguments)


@pytest.mark.parametrize("name", ["train_ids", "ids"])
def test_unigram_refuses_negative_ids(name):
    arrays = {"train_ids": np.array([0, 1, 2]), "ids": np.array([0, 2, 2])}
    arrays[name] = np.array([0, -1, 2])
    with pytest.raises(ValueError, match=f"Argument `{name}` must hold non-negative"):
        text.unigram_bits_per_character(arrays["train_ids"], arrays["ids"])
