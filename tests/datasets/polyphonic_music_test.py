"""Offline tests for the `polyphonic_music` builder over generated dummy data."""

import pickle

import numpy as np
import pytest

pytest.importorskip("scipy", reason="the builder reads .mat files with scipy")
pytest.importorskip(
    "dill", reason="tfds.testing needs dill (tensorflow-datasets[tests])"
)

import scipy.io  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402

from keras_rnncr.datasets import PolyphonicMusic  # noqa: E402
from tests.dummy_data import dummy_data  # noqa: E402

_MAT_FILES = {
    "JSB_Chorales.mat": "download/JSB_Chorales.mat",
    "Nottingham.mat": "download/Nottingham.mat",
    "MuseData.mat": "download/MuseData.mat",
    "Piano_midi.mat": "download/Piano_midi.mat",
}
_DUMMY_DATA = dummy_data("polyphonic_music")


class PolyphonicMusicDownloadTest(tfds.testing.DatasetBuilderTestCase):
    """Download path for the corpora whose checksums are pinned."""

    DATASET_CLASS = PolyphonicMusic
    BUILDER_CONFIG_NAMES_TO_TEST = ["jsb_chorales", "nottingham", "muse_data"]
    EXAMPLE_DIR = str(_DUMMY_DATA)
    SPLITS = {"train": 3, "validation": 2, "test": 2}
    DL_DOWNLOAD_RESULT = _MAT_FILES


class PolyphonicMusicPianoMidiDownloadTest(tfds.testing.DatasetBuilderTestCase):
    """Download path for piano_midi, whose sha256 is not pinned yet."""

    DATASET_CLASS = PolyphonicMusic
    BUILDER_CONFIG_NAMES_TO_TEST = ["piano_midi"]
    EXAMPLE_DIR = str(_DUMMY_DATA)
    SPLITS = {"train": 3, "validation": 2, "test": 2}
    DL_DOWNLOAD_RESULT = _MAT_FILES
    SKIP_CHECKSUMS = True


class PolyphonicMusicManualDirTest(tfds.testing.DatasetBuilderTestCase):
    """manual_dir with original-style pickles (three) and a .mat file (one)."""

    DATASET_CLASS = PolyphonicMusic
    EXAMPLE_DIR = str(_DUMMY_DATA / "manual")
    SPLITS = {"train": 3, "validation": 2, "test": 2}


def _prepare(manual_dir, data_dir, config="jsb_chorales"):
    builder = tfds.builder(f"polyphonic_music/{config}", data_dir=str(data_dir))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    )
    return builder


def test_pickle_and_mat_give_the_same_rolls(tmp_path):
    pieces = {
        "train": [[(21, 60), (), (108,)], [(64, 67, 72)]],
        "valid": [[(48,), (50,)]],
        "test": [[(43, 96)]],
    }
    rolls = {}
    for kind in ("pickle", "mat"):
        manual_dir = tmp_path / kind / "manual"
        manual_dir.mkdir(parents=True)
        if kind == "pickle":
            with open(manual_dir / "JSB Chorales.pickle", "wb") as f:
                pickle.dump(pieces, f, protocol=2)
        else:
            cells = {}
            for split, split_pieces in pieces.items():
                cell = np.empty((1, len(split_pieces)), dtype=object)
                for index, piece in enumerate(split_pieces):
                    roll = np.zeros((len(piece), 88), np.uint8)
                    for t, frame in enumerate(piece):
                        roll[t, [p - 21 for p in frame]] = 1
                    cell[0, index] = roll
                cells[f"{split}data"] = cell
            scipy.io.savemat(manual_dir / "JSB_Chorales.mat", cells)
        builder = _prepare(manual_dir, tmp_path / kind / "data")
        rolls[kind] = {
            split: list(tfds.as_numpy(builder.as_dataset(split=split)))
            for split in ("train", "validation", "test")
        }
    for split in ("train", "validation", "test"):
        for from_pickle, from_mat in zip(
            rolls["pickle"][split], rolls["mat"][split], strict=True
        ):
            np.testing.assert_array_equal(from_pickle["roll"], from_mat["roll"])
            assert from_pickle["length"] == len(from_pickle["roll"])
    train = {ex["id"].decode(): ex["roll"] for ex in rolls["pickle"]["train"]}
    assert train["train_0000"].dtype == np.bool_
    assert np.flatnonzero(train["train_0000"][0]).tolist() == [0, 39]
    assert not train["train_0000"][1].any()
    assert np.flatnonzero(train["train_0000"][2]).tolist() == [87]


def test_crafted_pickle_in_manual_dir_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "exploited"

    class Exploit:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    (manual_dir / "JSB Chorales.pickle").write_bytes(
        pickle.dumps({"train": [Exploit()]}, protocol=2)
    )
    with pytest.raises(pickle.UnpicklingError, match="Refusing to load global"):
        _prepare(manual_dir, tmp_path / "data")
    assert not marker.exists()


def test_out_of_range_pitch_is_reported(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    pieces = {"train": [[(20,)]], "valid": [], "test": []}
    (manual_dir / "jsb_chorales.pickle").write_bytes(pickle.dumps(pieces))
    with pytest.raises(ValueError, match=r"must lie in 21\.\.108.*pitch=20"):
        _prepare(manual_dir, tmp_path / "data")


def test_checksums_pin_the_three_known_files():
    checksums = (PolyphonicMusic.code_path.parent / "checksums.tsv").read_text()
    urls = [line.split("\t")[0] for line in checksums.splitlines() if "\t" in line]
    assert sorted(url.rsplit("/", 1)[1] for url in urls) == [
        "JSB_Chorales.mat",
        "MuseData.mat",
        "Nottingham.mat",
    ]
    assert all("2f8c2b817050206397458dfd1f5a25ce8a32fe65" in url for url in urls)
