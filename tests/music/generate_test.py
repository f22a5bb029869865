"""Tests of sampling piano rolls and saving them as PNG and MIDI."""

import keras
import numpy as np
import pytest

from keras_rnncr import music


def _model(bias):
    model = music.music_model("sgd", units=4, seed=0)
    head = model.get_layer("head")
    head.bias.assign(np.full(88, bias, "float32"))
    return model


def test_sample_follows_the_probabilities():
    assert not music.sample_piano_roll(_model(-30.0), 6, seed=0)[1:].any()
    assert music.sample_piano_roll(_model(30.0), 6, seed=0)[1:].all()
    roll = music.sample_piano_roll(_model(0.0), 200, seed=0)
    assert roll.shape == (200, 88) and roll.dtype == bool
    assert roll[1:].mean() == pytest.approx(0.5, abs=0.02)  # p = sigmoid(0)
    assert not roll[0].any()  # silent first frame


def test_sample_is_seeded_and_keeps_the_primer():
    model = _model(0.0)
    primer = np.zeros((3, 88), bool)
    primer[:, [39, 43, 46]] = True
    first = music.sample_piano_roll(model, 10, primer=primer, seed=3)
    np.testing.assert_array_equal(first[:3], primer)
    np.testing.assert_array_equal(
        first, music.sample_piano_roll(model, 10, primer=primer, seed=3)
    )


def test_sample_matches_the_model_probabilities():
    model = music.music_model("sgd", units=6, seed=4)
    roll = music.sample_piano_roll(model, 5, seed=0)
    full = model.predict(roll[None, :-1].astype("float32"), verbose=0)[0]
    # Re-running the cell step by step gives the model's own predictions:
    # with p near 0.5 everywhere, the drawn frames are consistent with them.
    cell, head = model.get_layer("rnn").cell, model.get_layer("head")
    state = [np.zeros((1, 6), "float32")]
    for t in range(4):
        hidden, state = cell(roll[t : t + 1].astype("float32"), state)
        np.testing.assert_allclose(np.asarray(head(hidden))[0], full[t], rtol=1e-5)


@pytest.mark.parametrize("num_frames", [0, -1, 2.0, True])
def test_sample_rejects_bad_num_frames(num_frames):
    with pytest.raises(ValueError, match="Argument `num_frames` must be a positive"):
        music.sample_piano_roll(_model(0.0), num_frames)


def test_sample_rejects_bad_primer():
    with pytest.raises(
        ValueError, match="Argument `primer` must be a piano roll of shape"
    ):
        music.sample_piano_roll(_model(0.0), 4, primer=np.zeros((2, 12), bool))
    # A primer of 0.2 was cast to True: every key sounding.
    with pytest.raises(
        ValueError, match="Argument `primer` must be a piano roll of 0s"
    ):
        music.sample_piano_roll(_model(0.0), 4, primer=np.full((1, 88), 0.2))
    ones = np.ones((1, 88), "float32")  # 0/1 floats are fine
    assert music.sample_piano_roll(_model(0.0), 2, primer=ones, seed=0)[0].all()


@pytest.mark.parametrize("seed", [-1, "x", 1.5])
def test_sample_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="Argument `seed` must be a non-negative"):
        music.sample_piano_roll(_model(0.0), 4, seed=seed)


def test_save_png(tmp_path):
    roll = np.zeros((16, 88), bool)
    roll[:, 39] = True
    music.save_piano_roll_png(roll, tmp_path / "roll.png", title="t")
    assert (tmp_path / "roll.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_midi_merges_held_keys(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    roll = np.zeros((6, 88), bool)
    roll[0:3, 39] = True  # one note of three frames
    roll[4, 39] = True  # a second note
    roll[1:2, 60] = True
    count = music.save_midi(roll, tmp_path / "a.mid", seconds_per_frame=0.5)
    assert count == 3
    notes = pretty_midi.PrettyMIDI(str(tmp_path / "a.mid")).instruments[0].notes
    spans = sorted((n.pitch, n.start, n.end) for n in notes)
    assert spans == [(60, 0.0, 1.5), (60, 2.0, 2.5), (81, 0.5, 1.0)]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seconds_per_frame": 0}, "`seconds_per_frame` must be a positive float"),
        ({"seconds_per_frame": float("nan")}, "positive float. Received: sec"),
        ({"seconds_per_frame": float("inf")}, "positive float. Received: sec"),
        ({"velocity": 0}, r"`velocity` must be an integer in \[1, 127\]"),
        ({"velocity": 90.0}, r"`velocity` must be an integer in \[1, 127\]"),
        ({"program": 128}, r"`program` must be an integer in \[0, 127\]"),
    ],
)
def test_save_midi_rejects_bad_numbers(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        music.save_midi(np.zeros((2, 88), bool), tmp_path / "a.mid", **kwargs)


@pytest.mark.parametrize(
    "roll, message",
    [
        (np.full((4, 88), 0.01), "must be a piano roll of 0s and 1s"),
        (np.full((4, 88), 2), "must be a piano roll of 0s and 1s"),
        (
            np.zeros(88, bool),
            r"must be a piano roll of shape .* Received: roll.shape=\(88,\)",
        ),
        (np.zeros((2, 4, 88), bool), "must be a piano roll of shape"),
        (np.zeros((4, 0), bool), "must be a piano roll of shape"),
    ],
)
def test_saving_refuses_what_is_not_a_piano_roll(tmp_path, roll, message):
    with pytest.raises(ValueError, match="Argument `roll` " + message):
        music.save_piano_roll_png(roll, tmp_path / "roll.png")
    with pytest.raises(ValueError, match="Argument `roll` " + message):
        music.save_midi(roll, tmp_path / "a.mid")
    assert not list(tmp_path.iterdir())


def test_rolls_of_other_widths_are_saved_from_a0(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    model = music.music_model("sgd", units=4, num_keys=12, seed=0)
    roll = music.sample_piano_roll(model, 5, seed=0)
    roll[0, 3] = True
    music.save_piano_roll_png(roll, tmp_path / "roll.png")
    music.save_midi(roll, tmp_path / "a.mid")
    notes = pretty_midi.PrettyMIDI(str(tmp_path / "a.mid")).instruments[0].notes
    assert min(n.pitch for n in notes) >= 21 and 24 in {n.pitch for n in notes}
    music.save_midi(np.zeros((0, 88), bool), tmp_path / "empty.mid")
    with pytest.raises(ValueError, match="Argument `roll` has 120 keys"):
        music.save_midi(np.zeros((2, 120), bool), tmp_path / "b.mid")


def test_a_128_key_roll_is_the_midi_range(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    roll = np.zeros((3, 128), "int64")
    roll[0, 0] = roll[1, 127] = 1
    assert music.save_midi(roll, tmp_path / "a.mid") == 2
    notes = pretty_midi.PrettyMIDI(str(tmp_path / "a.mid")).instruments[0].notes
    assert sorted(n.pitch for n in notes) == [0, 127]
    figure = music.save_piano_roll_png(roll, tmp_path / "roll.png")
    assert figure.axes[0].images[0].get_extent()[2:] == [-0.5, 127.5]


def test_sampling_names_a_model_that_is_not_a_music_model():
    other = keras.Sequential([keras.Input((3, 2)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="Argument `model` must be a `keras_rnncr"):
        music.sample_piano_roll(other, 3)
