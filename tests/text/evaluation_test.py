"""Tests for `keras_rnncr.text.evaluate_bits_per_character` and `char_callbacks`."""

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


def test_reset_stream_states_is_serializable():
    callback = text.ResetStreamStates()
    assert callback.get_config() == {}
