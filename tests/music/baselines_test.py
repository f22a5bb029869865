"""Tests of the trivial music baselines, on tiny hand-made rolls."""

import math
import os
import pathlib

import keras
import numpy as np
import pytest

from keras_rnncr import music
from keras_rnncr.metrics import frame_nll

# Two keys. Piece a: key 0 held for 4 frames, key 1 once; piece b: silence, key 1.
_A = np.array([[1, 0], [1, 0], [1, 1], [1, 0]], bool)
_B = np.array([[0, 0], [0, 1]], bool)


def _reference_nll(rolls, frequencies, weight, include_first_frame):
    """The same mean through keras_rnncr.metrics.frame_nll, frame by frame."""
    values = []
    for roll in rolls:
        roll = roll.astype("float64")
        start = 0 if include_first_frame else 1
        for t in range(start, len(roll)):
            previous = roll[t - 1] if t > 0 else np.zeros_like(roll[0])
            p = weight * previous + (1 - weight) * frequencies
            values.append(float(frame_nll(roll[t], p.astype("float64"))))
    return np.mean(values)


def test_key_frequencies_are_the_mean_over_every_frame():
    np.testing.assert_allclose(music.key_frequencies([_A, _B]), [4 / 6, 2 / 6])


def test_frequency_baseline_by_hand():
    frequencies = np.array([0.5, 0.25])
    # Scored frames (all but the first): [1,0], [1,1], [1,0] of a, [0,1] of b.
    per_frame = [
        -math.log(0.5) - math.log(0.75),
        -math.log(0.5) - math.log(0.25),
        -math.log(0.5) - math.log(0.75),
        -math.log(0.5) - math.log(0.25),
    ]
    nll = music.baseline_nll([_A, _B], frequencies)
    assert nll == pytest.approx(np.mean(per_frame))


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.9, 1.0])
@pytest.mark.parametrize("include_first_frame", [False, True])
def test_mixture_matches_frame_nll(weight, include_first_frame):
    frequencies = music.key_frequencies([_A, _B])
    nll = music.baseline_nll([_A, _B], frequencies, weight, include_first_frame)
    expected = _reference_nll([_A, _B], frequencies, weight, include_first_frame)
    assert nll == pytest.approx(expected, rel=1e-5)


def test_repeating_the_previous_frame_exactly_costs_epsilon_only():
    held = np.ones((5, 3), bool)
    nll = music.baseline_nll([held], np.full(3, 0.5), weight=1.0)
    assert nll == pytest.approx(-3 * math.log(1 - keras.config.epsilon()), abs=1e-9)


def test_best_mixing_weight_is_the_grid_minimum():
    rng = np.random.default_rng(0)
    # Keys that stay on with probability 0.8: repeating the last frame helps.
    rolls = []
    for _ in range(3):
        roll = np.zeros((40, 6), bool)
        roll[0] = rng.random(6) < 0.3
        for t in range(1, 40):
            keep = rng.random(6) < 0.8
            roll[t] = np.where(keep, roll[t - 1], rng.random(6) < 0.3)
        rolls.append(roll)
    frequencies = music.key_frequencies(rolls)
    grid = np.linspace(0, 1, 1001)
    values = [music.baseline_nll(rolls, frequencies, w) for w in grid]
    weight = music.best_mixing_weight(rolls, frequencies)
    assert weight == pytest.approx(grid[int(np.argmin(values))], abs=2e-3)
    assert music.baseline_nll(rolls, frequencies, weight) <= min(values) + 1e-6
    assert 0.0 < weight < 1.0


def test_best_mixing_weight_can_be_zero():
    # Frames alternate: the previous frame is always wrong.
    roll = np.array([[1, 0], [0, 1]] * 10, bool)
    frequencies = music.key_frequencies([roll])
    assert music.best_mixing_weight([roll], frequencies) == 0.0


def test_trivial_baselines_per_split():
    rolls = {"train": [_A], "validation": [_A, _B], "test": [_B]}
    baselines = music.trivial_baselines(rolls)
    frequencies = music.key_frequencies([_A])
    weight = music.best_mixing_weight([_A, _B], frequencies)
    assert baselines["mixing_weight"] == weight
    for split, pieces in rolls.items():
        assert baselines["key_frequencies"][split] == pytest.approx(
            music.baseline_nll(pieces, frequencies)
        )
        assert baselines["previous_frame"][split] == pytest.approx(
            music.baseline_nll(pieces, frequencies, weight)
        )
    # The weight is chosen on the validation split: no weight does better there.
    assert (
        baselines["previous_frame"]["validation"]
        <= (baselines["key_frequencies"]["validation"])
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: music.key_frequencies([]), "Argument `rolls` must be a non-empty"),
        (lambda: music.key_frequencies([np.ones(3)]), "non-empty list of"),
        (
            lambda: music.key_frequencies([np.ones((2, 3)), np.ones((2, 4))]),
            "same number of keys. Received: keys \\[3, 4\\]",
        ),
        (
            lambda: music.baseline_nll([_A], [0.5, 0.5], weight=1.5),
            "Argument `weight` must be a float in \\[0, 1\\]. Received: weight=1.5",
        ),
        (
            lambda: music.baseline_nll([_A], [0.5, 0.5, 0.5]),
            "`frequencies` must be 2 probabilities in \\[0, 1\\]",
        ),
        (
            lambda: music.baseline_nll([_A], [0.5, 2.0]),
            "`frequencies` must be 2 probabilities",
        ),
        (
            lambda: music.baseline_nll([_A[:1]], [0.5, 0.5]),
            "Argument `rolls` holds no frame to score",
        ),
        (
            lambda: music.baseline_nll([_A], [0.5, 0.5], include_first_frame=1),
            "Argument `include_first_frame` must be a bool",
        ),
        (
            lambda: music.trivial_baselines([_A]),
            "Argument `rolls` must be a dict of splits with a 'train' split",
        ),
        (
            lambda: music.trivial_baselines({"train": [_A]}, weight_split="valid"),
            "Argument `weight_split` must be one of \\['train'\\]",
        ),
        (
            lambda: music.best_mixing_weight([_A], [0.5, 0.5], tolerance=0),
            "Argument `tolerance` must be a positive float",
        ),
        # A roll of velocities (pretty_midi's get_piano_roll) or with NaN gave
        # frequencies above 1 and an NLL without a lower bound, silently.
        (
            lambda: music.key_frequencies([_A * 90]),
            "Argument `rolls` must hold piano rolls of 0s and 1s",
        ),
        (
            lambda: music.baseline_nll([_A, _A * np.nan], [0.5, 0.5]),
            r"0s and 1s .*Received values other than 0 and 1 \(sequence 1\)",
        ),
        (
            lambda: music.key_frequencies([np.zeros((0, 2))]),
            "Argument `rolls` must hold at least one frame",
        ),
        (
            lambda: music.trivial_baselines({"train": [_A], "test": []}, "train"),
            "Split 'test' of `rolls`: Argument `rolls` must be a non-empty list",
        ),
        (
            lambda: music.trivial_baselines({"train": [_A]}, weight_split=["train"]),
            "Argument `weight_split` must be one of",
        ),
    ],
)
def test_argument_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


_DATA_DIR = os.environ.get("KERAS_RNNCR_DATA_DIR")
# Issue 14's test-set values (first frames included, weight chosen on the
# validation split): key frequencies, previous frame. JSB's previous-frame
# value of the issue (11.20) is that of weight 0.5; the best weight gives 10.54.
_ISSUE_14 = {
    "jsb_chorales": (11.06, 10.54),
    "nottingham": (10.25, 5.73),
    "muse_data": (11.51, 8.57),
}


@pytest.mark.skipif(
    not _DATA_DIR or not (pathlib.Path(_DATA_DIR) / "polyphonic").is_dir(),
    reason="real data copies not available: set KERAS_RNNCR_DATA_DIR",
)
@pytest.mark.parametrize("dataset", sorted(_ISSUE_14))
def test_real_data_baselines_match_issue_14(dataset, tmp_path):
    pytest.importorskip("scipy", reason="the builder reads .mat files with scipy")
    rolls = music.load_piano_rolls(
        dataset,
        data_dir=str(tmp_path),
        manual_dir=str(pathlib.Path(_DATA_DIR) / "polyphonic"),
    )
    baselines = music.trivial_baselines(rolls, include_first_frame=True)
    frequencies, previous = _ISSUE_14[dataset]
    assert baselines["key_frequencies"]["test"] == pytest.approx(frequencies, abs=0.006)
    assert baselines["previous_frame"]["test"] == pytest.approx(previous, abs=0.006)
