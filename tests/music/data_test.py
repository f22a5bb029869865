"""Tests of the music datasets: subsequences, padded batches, TFDS loading."""

import numpy as np
import pytest

from keras_rnncr import music
from tests.dummy_data import dummy_data

_MANUAL = dummy_data("polyphonic_music") / "manual"


def _roll(frames, seed=0):
    return np.random.default_rng(seed).random((frames, 88)) < 0.05


def test_subsequences_cover_every_transition_once():
    roll = np.arange(11)[:, None] * np.ones((1, 88))  # frame t holds value t
    chunks = music.split_into_subsequences([roll], length=4)
    assert [chunk[:, 0].tolist() for chunk in chunks] == [
        [0, 1, 2, 3, 4],
        [4, 5, 6, 7, 8],
        [8, 9, 10],
    ]
    transitions = [(a, b) for c in chunks for a, b in zip(c[:-1, 0], c[1:, 0])]
    assert transitions == [(t, t + 1) for t in range(10)]
    assert music.count_frames(chunks) == music.count_frames([roll]) == 10


def test_subsequences_keep_short_pieces_and_drop_single_frames():
    chunks = music.split_into_subsequences([_roll(7), _roll(1), _roll(201)])
    assert [len(c) for c in chunks] == [7, 201]


@pytest.mark.parametrize("length", [0, -3, 2.5, True])
def test_subsequences_reject_bad_length(length):
    with pytest.raises(ValueError, match="Argument `length` must be a positive int"):
        music.split_into_subsequences([_roll(5)], length=length)


def test_next_frame_dataset_shifts_pads_and_weights():
    rolls = [_roll(5, 1), _roll(3, 2), _roll(8, 3)]
    batches = list(music.next_frame_dataset(rolls, batch_size=2).as_numpy_iterator())
    assert [x.shape for x, _, _ in batches] == [(2, 4, 88), (1, 7, 88)]
    inputs, targets, weights = batches[0]  # sorted by length: 3, 5 frames
    np.testing.assert_array_equal(weights, [[1, 1, 0, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(inputs[1], rolls[0][:-1])
    np.testing.assert_array_equal(targets[1], rolls[0][1:])
    np.testing.assert_array_equal(targets[0, 2:], 0)
    total = sum(w.sum() for _, _, w in batches)
    assert total == music.count_frames(rolls) == 13


def test_next_frame_dataset_shuffles_reproducibly_and_knows_its_size():
    rolls = [_roll(n + 2, n) for n in range(10)]
    dataset = music.next_frame_dataset(rolls, batch_size=3, shuffle=True, seed=1)
    assert int(dataset.cardinality()) == 4
    first = [w.sum() for _, _, w in dataset.as_numpy_iterator()]
    again = music.next_frame_dataset(rolls, batch_size=3, shuffle=True, seed=1)
    assert first == [w.sum() for _, _, w in again.as_numpy_iterator()]
    assert sum(first) == music.count_frames(rolls)


def test_next_frame_dataset_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Argument `batch_size` must be a positive"):
        music.next_frame_dataset([_roll(4)], batch_size=0)
    with pytest.raises(ValueError, match="Argument `rolls` holds no sequence"):
        music.next_frame_dataset([_roll(1)], batch_size=2)
    # Failed only while iterating (tf.data), or with an IndexError for 1-D.
    with pytest.raises(ValueError, match="Argument `rolls` must hold 2-D"):
        music.next_frame_dataset([_roll(4), np.zeros((4, 12))], batch_size=2)
    with pytest.raises(ValueError, match="Argument `rolls` must hold 2-D"):
        music.next_frame_dataset([np.zeros(4)], batch_size=2)
    with pytest.raises(ValueError, match="Argument `shuffle` must be a bool"):
        music.next_frame_dataset([_roll(4)], batch_size=2, shuffle="no")
    with pytest.raises(ValueError, match="Argument `seed` must be a non-negative"):
        music.next_frame_dataset([_roll(4)], batch_size=2, shuffle=True, seed=-1)


def test_load_piano_rolls_from_a_manual_folder(tmp_path):
    rolls = music.load_piano_rolls(
        "jsb_chorales", data_dir=str(tmp_path), manual_dir=str(_MANUAL)
    )
    assert {k: len(v) for k, v in rolls.items()} == {
        "train": 3,
        "validation": 2,
        "test": 2,
    }
    assert all(r.dtype == bool and r.shape[1] == 88 for r in rolls["train"])


def test_load_piano_rolls_rejects_unknown_dataset():
    with pytest.raises(ValueError, match="Argument `dataset` must be one of"):
        music.load_piano_rolls("bach")


def _epochs_of(dataset, steps, epochs):
    """The batches of `epochs` epochs as lists of per-row frame sums."""
    batches = list(dataset.take(steps * epochs).as_numpy_iterator())
    return [
        [tuple(x[:, 0].sum(-1)) for x, _, _ in batches[e * steps : (e + 1) * steps]]
        for e in range(epochs)
    ]


def test_next_frame_epochs_is_a_fixed_permutation_per_epoch():
    # Sequence n sounds n + 1 keys in its first frame: rows identify it.
    rolls = [np.zeros((n % 4 + 2, 88), np.float32) for n in range(7)]
    for n, roll in enumerate(rolls):
        roll[0, : n + 1] = 1.0
    dataset, steps = music.next_frame_epochs(rolls, batch_size=3, seed=5)
    assert steps == 3
    epochs = _epochs_of(dataset, steps, 4)
    for epoch in epochs:
        assert [len(batch) for batch in epoch] == [3, 3, 1]  # never mixes epochs
        seen = sorted(int(v) for batch in epoch for v in batch)
        assert seen == list(range(1, 8))
    assert len({tuple(map(tuple, epoch)) for epoch in epochs}) == 4  # reshuffled
    # Resuming at epoch 2 gives epochs 2 and 3 again, from another process' view.
    resumed, _ = music.next_frame_epochs(rolls, 3, seed=5, initial_epoch=2)
    assert _epochs_of(resumed, steps, 2) == epochs[2:]
    other, _ = music.next_frame_epochs(rolls, 3, seed=6)
    assert _epochs_of(other, steps, 1) != epochs[:1]


def test_next_frame_epochs_batches_match_next_frame_dataset():
    rolls = [_roll(5, 1), _roll(3, 2), _roll(1, 4)]  # the 1-frame roll is dropped
    dataset, steps = music.next_frame_epochs(rolls, batch_size=2)
    assert steps == 1
    ((inputs, targets, weights),) = list(dataset.take(1).as_numpy_iterator())
    order = [0, 1] if weights[0].sum() == 4 else [1, 0]
    for row, index in enumerate(order):
        length = len(rolls[index]) - 1
        np.testing.assert_array_equal(inputs[row, :length], rolls[index][:-1])
        np.testing.assert_array_equal(targets[row, :length], rolls[index][1:])
        assert weights[row].sum() == length


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "Argument `batch_size` must be a positive integer"),
        ({"seed": -1}, "Argument `seed` must be a non-negative integer"),
        ({"initial_epoch": 1.5}, "Argument `initial_epoch` must be a non-negative"),
    ],
)
def test_next_frame_epochs_rejects_bad_arguments(kwargs, message):
    arguments = {"batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        music.next_frame_epochs([_roll(3)], **arguments)


def test_num_chorales_is_refused_for_other_datasets():
    # It was ignored silently: a quick run loaded the whole corpus.
    with pytest.raises(ValueError, match=r"`num_chorales` applies to dataset="):
        music.load_piano_rolls("nottingham", num_chorales=3)


@pytest.mark.parametrize(
    "rolls",
    [[np.zeros((4, 3)), np.zeros((4, 4))], [np.zeros(4)], np.zeros((10, 88))],
)
def test_next_frame_epochs_checks_its_rolls_as_next_frame_dataset(rolls):
    with pytest.raises(ValueError, match="Argument `rolls` must"):
        music.next_frame_epochs(rolls, batch_size=2)


def test_subsequences_refuse_one_array_and_non_2d_rolls():
    with pytest.raises(ValueError, match="for one sequence, pass `\\[roll\\]`"):
        music.split_into_subsequences(np.zeros((10, 88)), length=5)
    with pytest.raises(ValueError, match="must hold 2-D `\\(frames, keys\\)` arrays"):
        music.split_into_subsequences([np.zeros(10)], length=5)


def test_training_rolls_must_be_binary():
    roll = np.zeros((5, 4))
    roll[1, 2] = 90.0  # a velocity
    with pytest.raises(ValueError, match="Argument `rolls` must hold piano rolls"):
        music.next_frame_dataset([roll], 2)
